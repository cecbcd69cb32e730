"""The template's sentences against the figures: a claim the figures can contradict (各项政策均落实到位, 全覆盖式排查,
全面检查) is written only when they bear it out, else the figures are; the seed's own 2020 events and one-off acts are
never asserted; the period's own end; a rate not computed when nothing was found; a township's district-wide funds;
the charted tables of a service not read left out; text from services never becomes Markdown."""

from __future__ import annotations

import re

from shared.half_year_report import markdown
from shared.half_year_report.compose import compose
from shared.half_year_report.document import Document, Source
from shared.half_year_report.fetch import Fetched
from shared.half_year_report.period import Period, period_of
from shared.reporting import Figure, ReportPart, Unit
from tests.unit.report_parts import COMPUTED_AT, part

H1 = period_of("2020-H1", None, None, None)
ALL = ("households", "projects", "subsidies", "audit")
Changes = dict[tuple[str, tuple[str, str] | None], int]
# Sentences that were true of 2020-H1 茌平区 only, or acts the platform holds nothing of: never asserted.
ONE_OFF_CLAIMS = (
    "开辟了“绿色通道”",
    "同部署、同推进。",
    "开展了全面督战",
    "通过了市脱贫攻坚评估验收组现场验收",
    "进行了全面排查",
    "开展了“万名教师",
    "全部实现“一站式”",
    "全部退费到位",
    "提高至",
    "发放农村低保对象价格临时补贴",
    "全覆盖。",
    "开设“精准扶贫在攻坚”专栏",
    "其余",
)


def _changed(service: str, changes: Changes, area: str = "371523", period: Period = H1) -> ReportPart:
    """The seed-shaped part with some figures' values changed (and any not in it added, counted in problems)."""
    base = part(service, area, period.start, period.end)
    left = dict(changes)
    figures = []
    for figure in base.figures:
        key = (figure.key, next(iter(figure.by.items())) if figure.by else None)
        figures.append(figure.model_copy(update={"value": left.pop(key)}) if key in left else figure)
    figures += [Figure(key=k, value=v, unit=Unit.PROBLEMS, by=dict([by]) if by else {}) for (k, by), v in left.items()]
    return base.model_copy(update={"figures": figures})


def _document(
    changes: dict[str, Changes] | None = None,
    read: tuple[str, ...] = ALL,
    area: str = "371523",
    period: Period = H1,
    townships: dict[str, str] | None = None,
) -> Document:
    changes = changes or {}
    parts = {s: _changed(s, changes.get(s, {}), area, period) for s in read}
    sources = tuple(Source(s, f"http://127.0.0.1/{s}", COMPUTED_AT if s in read else None,
                           None if s in read else "403: refused") for s in ALL)  # fmt: skip
    return compose(Fetched(parts, sources, townships or {"371523103": "博平镇"}), period, area)


def _sentences(document: Document) -> str:
    """The report's sentences as the Markdown writes them (without its tables, which list the seed's wording)."""
    return "\n".join(
        "".join(markdown.part_text(p, frozenset()) for p in paragraph.parts)
        for section in document.sections
        for paragraph in section.paragraphs
    )


LATER_HALF: dict[str, Changes] = {
    "households": {
        ("visits.households", None): 1000,
        ("housing.outstanding", None): 5,
        ("water.checked", None): 1200,
        ("water.unsafe", None): 7,
    }
}


def test_claims_the_figures_contradict_give_way_to_the_figures() -> None:
    text = _sentences(_document(LATER_HALF))

    assert "均落实到位" not in text
    assert "期末尚有未改造危房5户、饮水不安全7户、未整改问题20个" in text
    assert "全覆盖式" not in text
    assert "开展排查,期内入户排查走访1000户(占建档立卡户28.96%)" in text  # 1000 of 3452, rounded down
    assert "全面检查" not in text
    assert "1200户贫困户、23户即时帮扶户供水情况开展检查(检查户数占建档立卡户34.76%)" in text


def test_claims_the_figures_bear_out_are_written() -> None:
    text = _sentences(_document({"audit": {("findings.open", None): 0}}))

    assert "“三保障”、安全饮水、残疾、低保等各项政策均落实到位" in text
    assert "进行全方位、全覆盖式排查,期内入户排查走访3452户" in text
    assert "3452户贫困户、23户即时帮扶户供水情况开展全面检查" in text


def test_a_service_not_read_bears_no_claim_out() -> None:
    text = _sentences(_document({"audit": {("findings.open", None): 0}}, read=("projects", "subsidies", "audit")))

    assert "均落实到位" not in text and "全覆盖式" not in text and "全面检查" not in text


def test_the_seeds_own_events_and_one_off_acts_are_never_asserted() -> None:
    for document in (_document(), _document(LATER_HALF, period=period_of("2023-H2", None, None, None))):
        text = _sentences(document)
        assert [claim for claim in ONE_OFF_CLAIMS if claim in text] == []
    missing = {m.what for m in _document().missing()}
    assert {
        "挂牌督战的组织、日期和乡镇",
        "通过市脱贫攻坚评估验收组现场验收的日期",
        "期内新实施项目中尚未验收的项目数",
    } <= missing


def test_acceptances_of_older_projects_make_no_count_of_the_rest() -> None:
    document = _document({"projects": {("projects.accepted", None): 9}})  # 7 started in the period

    text = _sentences(document)
    assert "期内完成验收项目9个" in text and "-2" not in text
    assert not [s for s in document.stated() if "accepted" in s.ref.key and "−" in s.ref.key]


def test_the_periods_own_end_is_named() -> None:
    custom = period_of(None, None, "2020-01-01", "2020-06-15")
    text = _sentences(_document(period=custom))

    assert "截至6月15日,全区扶贫总支出为" in text and "6月底" not in text
    assert "截至6月30日" in _sentences(_document())


def test_no_rate_when_nothing_was_found_and_no_failure_said() -> None:
    nothing = {("findings.found", None): 0, ("findings.found", ("category", "housing")): 0,
               ("findings.found", ("category", "schooling")): 0}  # fmt: skip
    document = _document({"audit": nothing})

    text = _sentences(document)
    assert "期内发现问题0个,整改到位240个,期内未发现新问题,不计整改率" in text
    assert "audit服务" not in text


def test_a_townships_report_says_the_allocation_is_the_districts() -> None:
    text = _sentences(_document(area="371523103"))

    assert "2020年全区安排区级专项扶贫资金2150万元" in text
    assert "截至6月30日,博平镇扶贫总支出为" in text


def test_the_charted_tables_of_a_service_not_read_are_left_out() -> None:
    unread = {t.name for t in _document(read=("households", "projects", "subsidies")).tables}
    none_found: Changes = {
        (key, ("township", code)): 0
        for key in ("findings.found", "findings.rectified")
        for code in ("371523101", "371523103")
    }
    read = {t.name: t for t in _document({"audit": none_found}).tables}

    assert "rectification_by_township" not in unread
    assert read["rectification_by_township"].rows == (("371523101", 0, 0, 9333), ("博平镇", 0, 0, 9090))
    assert {"paid_by_programme", "funds_by_source", "visits_by_round"} <= unread


def test_text_from_services_never_becomes_markdown() -> None:
    hostile = "<img src=x onerror=f()>\n# 标题 [链接](http://x.example/) *粗*"
    document = _document(area="371523103", townships={"371523103": hostile})

    text = markdown.render(document)
    body = text.split("## 数据来源")[0].replace("[^missing]", "")
    assert not re.search(r"(?<!\\)[<>\[\]]", body)  # every one escaped
    assert [line for line in text.splitlines() if line.startswith("#") and "标题" in line] == [
        "# \\<img src=x onerror=f()\\> \\# 标题 \\[链接\\](http://x.example/) \\*粗\\*2020年上半年脱贫攻坚工作总结"
    ]
