"""The services' parts → the report's `Document`: section one from the template, the charted tables (document.CHARTED,
exactly those columns), every figure of every part (`figures`) and the stated/missing list with the seed's numbers
(`stated_figures`)."""

from __future__ import annotations

from shared.contracts.projects import FundSource
from shared.contracts.subsidies import PolicyCode
from shared.half_year_report.document import CHARTED, Document, Missing, Stated, Table
from shared.half_year_report.fetch import Fetched
from shared.half_year_report.figures import Figures
from shared.half_year_report.filling import AtLeast, Derived, Filler
from shared.half_year_report.period import Period, area_name
from shared.half_year_report.section_one import section_one
from shared.half_year_report.section_one_work import in_round_order, round_name

P = PolicyCode
# The programmes as the report names them (the subsidies catalogue's names, services/subsidies/README.md); a code
# not named here is shown as it is.
PROGRAMME_NAMES: dict[str, str] = {
    P.DIBAO: "低保",
    P.EXTREME_POVERTY_SUPPORT: "特困供养",
    P.TEMPORARY_ASSISTANCE: "临时救助",
    P.MEDICAL_AID: "医疗救助",
    P.DISABILITY_LIVING_SUBSIDY: "困难残疾人生活补贴",
    P.DISABILITY_NURSING_SUBSIDY: "重度残疾人护理补贴",
    P.EDUCATION_AID: "教育资助",
    P.RAIN_AND_DEW_EDUCATION_AID: "雨露计划",
    P.HEALTH_INSURANCE_PREMIUM_SUBSIDY: "居民医保代缴",
    P.PENSION_PREMIUM_SUBSIDY: "代缴养老保费",
    P.DANGEROUS_HOUSE_RENOVATION: "危房改造",
    P.INDUSTRY_AWARD: "产业奖补",
    P.EMPLOYMENT_SUBSIDY: "就业补贴",
    P.PUBLIC_WELFARE_JOB_SUBSIDY: "公益性岗位补贴",
}
FUND_SOURCE_NAMES: dict[str, str] = {
    FundSource.CENTRAL: "中央",
    FundSource.PROVINCIAL: "省级",
    FundSource.MUNICIPAL: "市级",
    FundSource.DISTRICT: "区级",
    FundSource.MATCHING: "配套",
}
Rows = list[tuple[str | int | None, ...]]


def _rectification(figures: Figures, townships: dict[str, str]) -> Rows | None:
    found = figures.split("audit", "findings.found", "township")
    rectified = figures.split("audit", "findings.rectified", "township") or {}
    rates = figures.split("audit", "findings.rectification_rate", "township") or {}
    if found is None:
        return None
    places = sorted({*found, *rectified})
    return [(townships.get(t, t), found.get(t, 0), rectified.get(t, 0), rates.get(t)) for t in places]


def _paid(figures: Figures) -> Rows | None:
    amounts = figures.split("subsidies", "paid.amount", "programme")
    people = figures.split("subsidies", "paid.people", "programme") or {}
    if amounts is None:
        return None
    return [(PROGRAMME_NAMES.get(p, p), amounts[p], people.get(p, 0)) for p in sorted(amounts)]


def _funds(figures: Figures) -> Rows | None:
    allocated = figures.split("projects", "funds.allocated", "source")
    spent = figures.split("projects", "funds.spent", "source") or {}
    if allocated is None:
        return None
    return [(FUND_SOURCE_NAMES[s], allocated[s], spent.get(s, 0)) for s in FundSource if s in allocated]


def _visits(figures: Figures) -> Rows | None:
    rounds = figures.split("households", "visits.households", "round")
    return None if rounds is None else [(round_name(r), rounds[r]) for r in in_round_order(rounds)]


def charted_tables(figures: Figures, townships: dict[str, str]) -> tuple[Table, ...]:
    """The charted tables of the services read: one whose service was not read is left out (the page says it has
    nothing to draw), so that an empty table means "none occurred", never "not known"."""
    rows = {
        "rectification_by_township": ("各乡镇(街道)问题整改", _rectification(figures, townships)),
        "paid_by_programme": ("各项目发放资金", _paid(figures)),
        "funds_by_source": ("扶贫资金来源:安排与支出", _funds(figures)),
        "visits_by_round": ("各轮入户排查走访户数", _visits(figures)),
    }
    return tuple(
        Table(name, title, CHARTED[name], tuple(held)) for name, (title, held) in rows.items() if held is not None
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
