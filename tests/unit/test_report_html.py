"""The report's HTML page (`shared/half_year_report/html.py`, charts in `charts.py`): every heading, stated figure
and missing marker shows; service-given text is escaped; a chart per charted table, a sentence where there is none;
nothing the page could fetch; the same document gives the same bytes."""

from __future__ import annotations

import copy
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from matplotlib import font_manager

from shared.half_year_report import charts
from shared.half_year_report.charts import draw_all
from shared.half_year_report.document import CHARTED, FigureRef, Paragraph, Section, Source, Stated, Table
from shared.half_year_report.html import render
from shared.half_year_report.html_style import CSP
from shared.reporting import Unit
from tests.report_html_sample import DIBAO_NEW, FUNDS, MASKS, UNREAD, document, tables

HOSTILE = "<script>alert(1)</script>"


class Page(HTMLParser):
    """The page as parsed: its tags, every attribute value, the text of <style> and the visible text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._in_style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)

    def visible(self) -> str:
        return "".join(self.text)


def test_every_heading_stated_figure_and_missing_marker_shows() -> None:
    sample = document()
    page = Page(render(sample)).visible()

    for section in sample.sections:
        assert section.heading in page
        for paragraph in section.paragraphs:
            assert paragraph.heading in page
    for figure in sample.stated():
        if figure.value is not None:
            assert figure.written in page
    for missing in sample.missing():
        assert f"〔缺: {missing.what}〕" in page
    assert f"〔缺: audit服务本次未能读取 ({UNREAD.ref})〕" in page  # a figure whose service could not be read
    assert "〔缺: …〕" in page  # the legend explains the marker


def test_stated_figures_are_emphasised_and_missing_ones_marked() -> None:
    html = render(document())
    attributes = Page(html).attributes

    assert f'<strong class="stated" title="{DIBAO_NEW.ref}">279户</strong>' in html
    assert ("span", "title", f"原报告(2020年上半年)写作: {MASKS.seed_written}") in attributes
    assert ("span", "title", str(UNREAD.ref)) in attributes
    assert html.count('class="missing"') >= len(document().missing()) + 1


def test_text_from_services_is_escaped() -> None:
    hostile_figure = Stated(FigureRef("audit", "findings.found", ("township", HOSTILE)), Unit.PROBLEMS, 3, "3个")
    hostile = document(
        title=f"报告{HOSTILE}",
        sections=(
            Section(f"一、{HOSTILE}", (Paragraph(HOSTILE, (HOSTILE, hostile_figure, replace(FUNDS, what=HOSTILE))),)),
        ),
        tables=(Table("figures", HOSTILE, ("by", "value"), ((HOSTILE, 1),)),),
        sources=(Source("audit", f"http://127.0.0.1:8004/{HOSTILE}", None, HOSTILE),),
    )
    html = render(hostile)
    page = Page(html)

    assert "script" not in page.tags
    assert "<script" not in html.lower()
    assert page.visible().count(HOSTILE) >= 7  # shown as text, where it was given
    assert ("strong", "title", f"audit:findings.found[township={HOSTILE}]") in page.attributes


def test_a_chart_per_charted_table_as_inline_svg() -> None:
    html = render(document())

    assert html.count("<svg ") == len(CHARTED) == 4
    assert "无数据可绘制" not in html
    for n in range(1, 5):
        assert f"图{n} " in html


def test_a_table_absent_or_empty_says_there_is_nothing_to_draw() -> None:
    some = tuple(t for t in tables() if t.name != "funds_by_source")
    some = tuple(replace(t, rows=()) if t.name == "visits_by_round" else t for t in some)

    html = render(document(tables=some))

    assert html.count("<svg ") == 2
    assert "表 funds_by_source 缺失或为空" in html
    assert "表 visits_by_round 缺失或为空" in html
    assert render(document(tables=())).count("无数据可绘制") == 4


def test_a_table_without_a_number_draws_nothing_and_a_missing_number_draws_no_bar() -> None:
    unknown = Table("visits_by_round", "各轮走访户数", ("round", "households"), (("第一轮", None), ("第二轮", None)))
    partly = Table("visits_by_round", "各轮走访户数", ("round", "households"), (("第一轮", 3452), ("第二轮", None)))

    assert [c.svg for c in draw_all([unknown])] == [None] * 4
    drawn = draw_all([partly])[3].svg
    assert drawn is not None
    assert "第二轮" in drawn and "3,452" in drawn and "缺" not in drawn  # no bar, no label: never a zero


def test_a_charted_table_with_other_columns_is_refused() -> None:
    wrong = Table("visits_by_round", "各轮走访户数", ("round", "people"), (("1", 3),))

    with pytest.raises(ValueError, match="visits_by_round"):
        draw_all([wrong])


def test_the_page_refers_to_nothing_outside_itself() -> None:
    page = Page(render(document()))

    assert ("meta", "content", CSP) in page.attributes
    assert not {"script", "link", "iframe", "object", "embed", "img", "base", "form", "audio", "video"} & set(page.tags)
    for tag, name, value in page.attributes:
        assert not _external(value), (tag, name, value)
        if name in {"href", "xlink:href", "src"}:
            assert value.startswith("#"), (tag, name, value)
        if "url(" in value:
            assert all(part.startswith("#") for part in value.split("url(")[1:]), (tag, name, value)
    for style in page.styles:
        assert not _external(style)
        assert "url(" not in style


def test_the_charts_keep_text_as_text_and_carry_no_metadata() -> None:
    svg = "".join(chart.svg or "" for chart in draw_all(tables()))

    assert "<text" in svg and "贾寨镇" in svg and "低保" in svg
    assert "<metadata" not in svg and "<dc:date" not in svg
    assert "xmlns" not in svg and "<?xml" not in svg and "DOCTYPE" not in svg


def test_the_same_document_gives_the_same_bytes() -> None:
    assert render(document()).encode() == render(document()).encode()


def test_pages_rendered_at_once_are_the_same() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        pages = list(pool.map(lambda _: render(document()), range(4)))

    assert len(set(pages)) == 1
    assert pages[0] == render(document())


def _external(text: str) -> bool:
    lowered = text.lower()
    return any(mark in lowered for mark in ("http:", "https:", "//", "@import", "ftp:", "javascript:"))


def test_a_dollar_in_a_name_is_text_not_math() -> None:
    names = ("贾寨镇$\\frac$", "$x^{$", "$a$b$")
    rows = tuple((name, 3, 2, 6666) for name in names)
    table = Table("rectification_by_township", "各乡镇(街道)问题整改", CHARTED["rectification_by_township"], rows)

    svg = draw_all([table])[0].svg

    assert svg is not None
    for name in names:
        assert name in svg  # as written, never typeset


def test_a_chart_writes_amounts_as_the_sentences_do() -> None:
    table = Table("paid_by_programme", "各项补贴", CHARTED["paid_by_programme"], (("临时救助", 1_005_000, 3),
                                                                              ("医疗救助", 4_000, 1)))  # fmt: skip

    svg = draw_all([table])[1].svg

    assert svg is not None and "1.01万元 / 3人" in svg and "40元 / 1人" in svg


def test_no_element_id_twice_in_the_page() -> None:
    ids = [value for _, name, value in Page(render(document())).attributes if name == "id"]

    assert ids and len(ids) == len(set(ids))


def test_a_negative_amount_draws_without_a_glyph_warning() -> None:
    table = Table("funds_by_source", "资金", CHARTED["funds_by_source"], (("区级", 2_150_000_000, -1_000_000_000),))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        svg = draw_all([table])[2].svg

    assert svg is not None and "-1000万元" in svg  # the label, and ticks below zero
    assert [str(w.message) for w in caught if "Glyph" in str(w.message)] == []


def test_a_chart_matplotlib_cannot_draw_leaves_the_page_standing(monkeypatch: pytest.MonkeyPatch) -> None:
    def cannot(axes: object, rows: object) -> None:
        raise ValueError("a label that cannot be laid out")

    monkeypatch.setitem(charts._DRAWERS, "visits_by_round", cannot)

    html = render(document())

    assert html.count("<svg ") == 3 and "表 visits_by_round 缺失或为空" in html


def test_a_cjk_font_installed_after_matplotlib_listed_the_fonts_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """matplotlib keeps its list of the machine's fonts until its version changes: a font installed later (as CI
    installs one on a machine where matplotlib already ran) is looked for among the machine's fonts."""
    listed = font_manager.fontManager
    cjk_files = {f.fname for f in listed.ttflist if f.name in charts.CJK_FONTS}
    if not cjk_files:
        pytest.skip("this machine has none of the CJK fonts")
    stale = copy.copy(listed)
    stale.ttflist = [f for f in listed.ttflist if f.fname not in cjk_files]  # every face of those files
    monkeypatch.setattr(font_manager, "fontManager", stale)
    assert charts._measuring_font.__wrapped__()[0] in charts.CJK_FONTS
