"""`poverty report`'s composer: the template's figures from the services' parts, a part missing, derived figures,
a township, and the Markdown, CSV and XLSX written from the document."""

from __future__ import annotations

import csv
from io import BytesIO

from openpyxl import load_workbook

from shared.half_year_report import markdown
from shared.half_year_report.amounts import wan, yuan
from shared.half_year_report.compose import compose
from shared.half_year_report.document import CHARTED, Document, FigureRef, Source, Stated, Table
from shared.half_year_report.fetch import Fetched
from shared.half_year_report.figures import Figures
from shared.half_year_report.filling import AtLeast, Derived
from shared.half_year_report.marking import mark
from shared.half_year_report.period import period_of
from shared.half_year_report.tables import table_files
from shared.reporting import Unit
from tests.unit.report_parts import COMPUTED_AT, part

H1 = period_of("2020-H1", None, None, None)
TOWNSHIPS = {"371523101": "贾寨镇", "371523102": "冯屯镇", "371523103": "博平镇", "371523104": "胡屯镇",
             "371523105": "温陈街道"}  # fmt: skip
SEED_HEADINGS = [
    "一、工作成效",
    "(一)同步推进贫困人口疫情防控和脱贫攻坚工作。",
    "(二)加强扶贫项目建设管理和问题整改。",
    "(三)深入开展脱贫攻坚问题排查和整改。",
    "(四)扎实落实行业扶贫政策。",
    "(五)加强脱贫攻坚宣传和舆论引导。",
    "二、工作特色亮点",
    "(一)创新开展“双提升”工作。",
]


ALL = ("households", "projects", "subsidies", "audit")


def _fetched(services: tuple[str, ...] = ALL, area: str = "371523") -> Fetched:
    """The parts of `services` read; every other service's not read (refused)."""
    sources = tuple(
        Source(s, f"http://127.0.0.1/{s}/v1/report", COMPUTED_AT)
        if s in services
        else Source(s, f"http://127.0.0.1/{s}/v1/report", None, "403: refused")
        for s in ALL
    )
    return Fetched({s: part(s, area) for s in services}, sources, TOWNSHIPS)


def _document(services: tuple[str, ...] = ALL) -> Document:
    return compose(_fetched(services), H1, "371523")


def _stated(document: Document, ref: str) -> list[Stated]:
    return [s for s in document.stated() if str(s.ref) == ref]


def test_every_seed_number_the_parts_hold_is_stated_and_every_other_is_missing() -> None:
    document = _document()
    stated = document.stated()
    assert all(s.value is not None for s in stated), [str(s.ref) for s in stated if s.value is None]
    differing = {str(s.ref): (s.value, s.seed) for s in stated if s.seed is not None and s.value != s.seed}
    # the parts carry the seed's numbers; only the "more than" income differs (compared as at least)
    assert differing == {"households:income.per_capita_average[year=2020]": (471_234, 450_000)}
    assert {m.seed_written for m in document.missing()} >= {
        "15.32万元",
        "1.35万个",
        "29.33万元",
        "5160元",
        "其余4个项目",
    }
    text = markdown.render(document)
    for s in stated:
        assert s.written in text
    for m in document.missing():
        assert markdown.text(mark(m, frozenset()).text) in text


def test_figures_are_written_the_way_the_seed_writes_them() -> None:
    document = _document()
    written = {str(s.ref): s.written for s in document.stated()}
    assert written["projects:income.received"] == "446.64万元"
    assert written["projects:funds.allocated[source=district]"] == "2150万元"
    assert written["subsidies:paid.amount[programme=temporary_assistance]"] == "6.4万元"
    assert written["subsidies:standard.monthly[programme=dibao]"] == "258元"
    assert written["households:register.households"] == "3452户"
    assert written["audit:findings.found[category=schooling]"] == "34条"
    assert (wan(-2_500_000), wan(446_640_049), wan(1_005_000), yuan(9_164_306)) == (
        "-2.5万元", "446.64万元", "1.01万元", "91643.06元",
    )  # fmt: skip


def test_an_amount_that_is_not_zero_is_never_written_as_zero() -> None:
    assert (wan(1), wan(4_999), wan(5_000), wan(-1), wan(-4_000), wan(0)) == (
        "0.01元", "49.99元", "0.01万元", "-0.01元", "-40元", "0万元",
    )  # fmt: skip


def test_derived_figures_are_computed_from_the_stated_ones() -> None:
    derived = {s.how: s for s in _document().stated() if isinstance(s, Derived)}
    assert derived["sum(funds.spent by source)"].value == 4232 * 1_000_000
    assert derived["sum(projects.started)"].value == 7
    assert derived["count(projects.started by township)"].value == 5
    assert derived["sum(projects.by_status) − sum(projects.started)"].value == 83  # 90 started by June, 7 in 2020
    assert derived["sum(paid.amount of the two disability subsidies)"].written == "335万元"
    people = derived["sum(paid.people of the two disability subsidies)"]  # a person paid both is counted twice
    assert (people.value, people.written) == (7927, "7927人次")


def test_a_more_than_figure_is_written_as_it_is_and_kept_as_a_lower_bound() -> None:
    (income,) = [s for s in _document().stated() if isinstance(s, AtLeast)]
    assert (income.written, income.seed) == ("4712.34元", 450_000)
    assert "6月底前贫困户人均收入4712.34元" in markdown.render(_document())


def test_a_part_not_read_makes_its_figures_missing_not_zero() -> None:
    document = _document(services=("households", "projects", "audit"))
    subsidies = [s for s in document.stated() if s.ref.service == "subsidies"]
    assert subsidies and all(s.value is None and s.written == "" for s in subsidies)
    text = markdown.render(document)
    unread = "subsidies服务本次未能读取"
    assert markdown.text(f"新纳入低保〔缺: {unread} (subsidies:enrolled.new_households[programme=dibao])〕") in text
    assert markdown.text(f"帮扶〔缺: {unread} (subsidies:sum(paid.people of the two disability subsidies))〕") in text
    assert [t.name for t in document.tables if t.name == "paid_by_programme"] == []  # not known: no table
    assert _stated(document, "households:register.households")[0].value == 3452


def test_a_township_is_named_in_the_title_and_its_sentences() -> None:
    document = compose(_fetched(area="371523103"), H1, "371523103")
    assert document.title == "博平镇2020年上半年脱贫攻坚工作总结"
    assert "对博平镇3452户建档立卡贫困人口" in markdown.render(document)
    unknown = compose(Fetched(_fetched(area="371523109").parts, (), {}), H1, "371523109")
    assert unknown.title == "371523109 2020年上半年脱贫攻坚工作总结"  # a township the platform cannot name


def test_the_markdown_follows_the_seed_headings_in_order_and_explains_the_marker() -> None:
    text = markdown.render(_document())
    assert text.startswith("# 全区2020年上半年脱贫攻坚工作总结\n")
    positions = [text.index(h) for h in SEED_HEADINGS]
    assert positions == sorted(positions)
    assert "[^missing]: 〔缺: …〕" in text
    assert "- audit: http://127.0.0.1/audit/v1/report — computed_at 2026-12-06T10:00:00+00:00" in text
    assert "在贾寨镇、冯屯镇、博平镇、胡屯镇、温陈街道等5个乡镇(街道)实施7个产业扶贫项目" in text
    assert "其中第一轮3452户,第二轮3452户,第三轮3452户,第四轮900户" in text


def test_the_charted_tables_have_exactly_their_columns() -> None:
    tables = {t.name: t for t in _document().tables}
    assert {n: tables[n].columns for n in CHARTED} == CHARTED
    assert tables["rectification_by_township"].rows == (("贾寨镇", 150, 140, 9333), ("博平镇", 110, 100, 9090))
    assert tables["funds_by_source"].rows == (
        ("中央", 0, 0), ("省级", 2082 * 1_000_000, 2082 * 1_000_000), ("市级", 0, 0),
        ("区级", 2150 * 1_000_000, 2150 * 1_000_000), ("配套", 0, 0),
    )  # fmt: skip
    assert tables["visits_by_round"].rows == (("第一轮", 3452), ("第二轮", 3452), ("第三轮", 3452), ("第四轮", 900))
    assert ("雨露计划", 15_750_000, 105) in tables["paid_by_programme"].rows
    stated = tables["stated_figures"].rows
    assert ("missing", "口罩发放数量", "", None, "", "1.35万个", "") in stated
    assert ("stated", "households:register.households", "households", 3452, "3452户", 3452, "equal") in stated


def test_csv_files_have_a_bom_a_header_and_a_yuan_column() -> None:
    document = _document()
    files = table_files(document.tables)
    assert set(files) == {f"tables/{t.name}.csv" for t in document.tables} | {"report.xlsx"}
    raw = files["tables/funds_by_source.csv"]
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == ["source", "allocated_fen", "allocated_yuan", "spent_fen", "spent_yuan"]
    assert rows[4] == ["区级", "2150000000", "21500000.00", "2150000000", "21500000.00"]
    figures = list(csv.reader(files["tables/figures.csv"].decode("utf-8-sig").splitlines()))
    assert ["projects", "projects.started", "township=371523103", "1", "projects"] in figures


def test_the_workbook_has_a_sheet_per_table_with_a_bold_header() -> None:
    document = _document()
    book = load_workbook(BytesIO(table_files(document.tables)["report.xlsx"]))
    assert book.sheetnames == [t.name for t in document.tables]
    sheet = book["rectification_by_township"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows == [("township", "found", "rectified", "rectification_rate_bp"), ("贾寨镇", 150, 140, 9333),
                    ("博平镇", 110, 100, 9090)]  # fmt: skip
    assert all(cell.font.bold for cell in sheet[1])
    assert not sheet["A2"].font.bold


def test_a_figure_ref_reads_as_service_key_and_split() -> None:
    assert (
        str(FigureRef("audit", "findings.found", ("category", "housing"))) == "audit:findings.found[category=housing]"
    )


def test_a_split_listed_as_it_occurs_is_zero_when_absent_and_any_other_figure_missing() -> None:
    figures = Figures(_fetched(("subsidies", "audit")).parts)
    assert figures.value(FigureRef("subsidies", "paid.people", ("programme", "dibao"))) == 0  # nobody paid
    assert figures.value(FigureRef("audit", "findings.found", ("category", "medical"))) == 0
    assert figures.value(FigureRef("audit", "findings.rectification_rate", ("township", "371523109"))) is None
    assert figures.value(FigureRef("subsidies", "standard.monthly", ("programme", "education_aid"))) is None
    assert figures.value(FigureRef("projects", "projects.started", ("township", "371523101"))) is None  # not read


def test_text_from_services_is_never_a_formula_in_the_csv_or_the_workbook() -> None:
    hostile = '=HYPERLINK("http://evil.example/","点此")'
    tables = (Table("figures", "全部数字", ("service", "key", "by", "value"), (("audit", hostile, f"-{hostile}", 1),)),)
    files = table_files(tables)

    rows = list(csv.reader(files["tables/figures.csv"].decode("utf-8-sig").splitlines()))
    assert rows[1] == ["audit", f"'{hostile}", f"'-{hostile}", "1"]
    sheet = load_workbook(BytesIO(files["report.xlsx"]))["figures"]
    assert [(c.value, c.data_type) for c in sheet[2]] == [
        ("audit", "s"), (f"'{hostile}", "s"), (f"'-{hostile}", "s"), (1, "n"),
    ]  # fmt: skip


def test_the_workbooks_yuan_are_numbers() -> None:
    book = load_workbook(BytesIO(table_files(_document().tables)["report.xlsx"]))
    cell = book["funds_by_source"]["C5"]  # 区级, allocated_yuan

    assert (cell.value, cell.data_type, cell.number_format) == (21_500_000, "n", "0.00")


def test_a_figure_reported_in_another_unit_is_not_stated() -> None:
    subsidies = part("subsidies")
    wrong = [f.model_copy(update={"unit": Unit.PEOPLE}) if f.key == "paid.amount" else f for f in subsidies.figures]
    fetched = _fetched()
    fetched.parts["subsidies"] = subsidies.model_copy(update={"figures": wrong})
    document = compose(fetched, H1, "371523")

    (amount,) = _stated(document, "subsidies:paid.amount[programme=rain_and_dew_education_aid]")
    assert (amount.value, amount.written) == (None, "")
    assert "15.75万元" not in markdown.render(document).split("## 数据来源")[0]


def test_every_split_a_readme_lists_as_it_occurs_is_zero_when_absent() -> None:
    figures = Figures(_fetched(("households", "audit")).parts)
    for ref in (
        FigureRef("households", "register.households", ("township", "371523109")),
        FigureRef("households", "schooling.dropped_out", ("stage", "junior")),
        FigureRef("audit", "findings.open", ("township", "371523109")),
        FigureRef("audit", "referrals.made", ("township", "371523109")),
    ):
        assert figures.value(ref) == 0, ref
