"""The services' parts → the report's `Document`: section one from the template, the charted tables (document.CHARTED,
exactly those columns), every figure of every part (`figures`) and the stated/missing list with the seed's numbers
(`stated_figures`)."""

from __future__ import annotations

from shared.half_year_report.document import CHARTED, Document, Missing, Stated, Table
from shared.half_year_report.fetch import Fetched
from shared.half_year_report.figures import Figures
from shared.half_year_report.filling import AtLeast, Derived, Filler
from shared.half_year_report.period import Period, area_name
from shared.half_year_report.section_one import section_one
from shared.half_year_report.section_one_work import FUND_SOURCES, round_name

# The subsidies catalogue's programmes as the report names them (services/subsidies/README.md).
PROGRAMME_NAMES = {
    "dibao": "低保",
    "extreme_poverty_support": "特困供养",
    "temporary_assistance": "临时救助",
    "medical_aid": "医疗救助",
    "disability_living_subsidy": "困难残疾人生活补贴",
    "disability_nursing_subsidy": "重度残疾人护理补贴",
    "education_aid": "教育资助",
    "rain_and_dew_education_aid": "雨露计划",
    "health_insurance_premium_subsidy": "居民医保代缴",
    "pension_premium_subsidy": "代缴养老保费",
    "dangerous_house_renovation": "危房改造",
    "public_welfare_job_subsidy": "公益性岗位补贴",
    "project_income_share": "资产收益分配",
}
FUND_SOURCE_NAMES = {
    "central": "中央",
    "provincial": "省级",
    "municipal": "市级",
    "district": "区级",
    "matching": "配套",
}


def _table(name: str, title: str, rows: list[tuple[str | int | None, ...]]) -> Table:
    return Table(name, title, CHARTED[name], tuple(rows))


def charted_tables(f: Figures, townships: dict[str, str]) -> tuple[Table, ...]:
    found = f.split("audit", "findings.found", "township") or {}
    rectified = f.split("audit", "findings.rectified", "township") or {}
    rates = f.split("audit", "findings.rectification_rate", "township") or {}
    amounts = f.split("subsidies", "paid.amount", "programme") or {}
    people = f.split("subsidies", "paid.people", "programme") or {}
    allocated = f.split("projects", "funds.allocated", "source") or {}
    spent = f.split("projects", "funds.spent", "source") or {}
    rounds = f.split("households", "visits.households", "round") or {}
    return (
        _table(
            "rectification_by_township",
            "各乡镇(街道)问题整改",
            [
                (townships.get(t, t), found.get(t, 0), rectified.get(t, 0), rates.get(t))
                for t in sorted({*found, *rectified})
            ],
        ),
        _table(
            "paid_by_programme",
            "各项目发放资金",
            [(PROGRAMME_NAMES.get(p, p), amounts[p], people.get(p, 0)) for p in sorted(amounts)],
        ),
        _table(
            "funds_by_source",
            "扶贫资金来源:安排与支出",
            [(FUND_SOURCE_NAMES[s], allocated[s], spent.get(s, 0)) for s in FUND_SOURCES if s in allocated],
        ),
        _table(
            "visits_by_round",
            "各轮入户排查走访户数",
            [(round_name(r), rounds[r]) for r in sorted(rounds, key=lambda r: (len(r), r))],
        ),
    )


def _comparison(stated: Stated) -> str:
    if isinstance(stated, AtLeast):
        return "at_least"
    return f"derived: {stated.how}" if isinstance(stated, Derived) else "equal"


def stated_table(document_parts: list[Stated | Missing]) -> Table:
    """Every figure the sentences hold, in reading order: stated (with the value and the seed's number, and how the
    loop check compares them) or missing (with how the seed wrote it)."""
    rows: list[tuple[str | int | None, ...]] = []
    for p in document_parts:
        if isinstance(p, Stated):
            rows.append(("stated", str(p.ref), p.unit.value, p.value, p.written, p.seed, _comparison(p)))
        else:
            rows.append(("missing", p.what, "", None, "", p.seed_written, ""))
    columns = ("status", "figure", "unit", "value", "written", "seed", "comparison")
    return Table("stated_figures", "报告所述数字(stated: 平台数据; missing: 平台未掌握)", columns, tuple(rows))


def compose(fetched: Fetched, period: Period, area_code: str) -> Document:
    figures = Figures(fetched.parts)
    area = area_name(area_code, fetched.township_names)
    sections = section_one(Filler(figures), period, area, fetched.township_names)
    parts = [p for s in sections for para in s.paragraphs for p in para.parts if not isinstance(p, str)]
    every = Table("figures", "各服务报告的全部数字", ("service", "key", "by", "value", "unit"), tuple(figures.rows()))
    return Document(
        title=f"{area}{' ' if area[-1].isdigit() else ''}{period.label}脱贫攻坚工作总结",  # a code apart from the year
        period_from=period.start,
        period_to=period.end,
        area_code=area_code,
        sections=sections,
        tables=(*charted_tables(figures, fetched.township_names), every, stated_table(parts)),
        sources=fetched.sources,
    )
