"""The half-year report as one self-contained HTML5 page (`report.html`): the sections with every stated figure
emphasised and every missing one marked, the charts as inline SVG, the tables, the sources.

Self-contained: no script, no URL of any kind, inline CSS only, and a Content-Security-Policy that makes the
browser refuse anything else. Every text is escaped: figures' `by` values, names and errors come from services.
Same document, same bytes: nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from html import escape

from shared.half_year_report.amounts import yuan_grouped
from shared.half_year_report.charts import Chart, draw_all
from shared.half_year_report.document import Document, Paragraph, Part, Section, Source, Stated, Table
from shared.half_year_report.html_style import CSP, STYLE
from shared.half_year_report.marking import mark, unread

LEGEND = (
    '<span class="stated">加粗蓝字</span>为平台数据(悬停可见其来源); '
    '<span class="missing">〔缺: …〕</span>为平台未掌握或本次未能取得的数字,不作推算,悬停可见原报告的写法。'
)
# The charted tables' columns as the page heads them; any other column by its name. Fen are shown as yuan,
# basis points as per cent.
COLUMNS = {
    "township": "乡镇(街道)",
    "found": "发现问题",
    "rectified": "整改到位",
    "rectification_rate_bp": "整改率",
    "programme": "补贴项目",
    "amount_fen": "发放金额(元)",
    "people": "人数",
    "source": "资金来源",
    "allocated_fen": "安排(元)",
    "spent_fen": "支出(元)",
    "round": "轮次",
    "households": "户数",
}


def render(document: Document) -> str:
    head = (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(document.title)}</title>\n<style>{STYLE}</style>\n</head>\n"
    )
    not_read = unread(document.sources)
    body = [
        _header(document),
        *(_section(s, not_read) for s in document.sections),
        _charts(draw_all(document.tables)),
        _tables(document.tables),
        _sources(document.sources),
        "<footer><p>本页由精准扶贫平台各服务的数据生成,数字以各服务的计算时间为准。</p></footer>",
    ]
    return head + "<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n"


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _header(document: Document) -> str:
    period = f"{_day(document.period_from)}至{_day(document.period_to)}"
    return (
        f"<header><h1>{escape(document.title)}</h1>"
        f'<p class="meta">统计期间: {period} · 区域代码: {escape(document.area_code)}</p></header>\n'
        f'<p class="legend">{LEGEND}</p>'
    )


def _section(section: Section, not_read: frozenset[str]) -> str:
    heading = f"<h2>{escape(section.heading)}</h2>\n" if section.heading else ""
    paragraphs = "\n".join(_paragraph(p, not_read) for p in section.paragraphs)
    return f"<section>\n{heading}{paragraphs}\n</section>"


def _paragraph(paragraph: Paragraph, not_read: frozenset[str]) -> str:
    heading = f'<span class="para-heading">{escape(paragraph.heading)}</span>' if paragraph.heading else ""
    return f"<p>{heading}{''.join(_part(p, not_read) for p in paragraph.parts)}</p>"


def _part(part: Part, not_read: frozenset[str]) -> str:
    if isinstance(part, str):
        return escape(part)
    if isinstance(part, Stated) and part.value is not None:
        return f'<strong class="stated" title="{escape(str(part.ref))}">{escape(part.written)}</strong>'
    marked = mark(part, not_read)
    return f'<span class="missing" title="{escape(marked.hint)}">{escape(marked.text)}</span>'


def _charts(charts: Iterable[Chart]) -> str:
    items = []
    for n, chart in enumerate(charts, start=1):
        caption = f"图{n} {escape(chart.title)}"
        if chart.svg is None:
            items.append(f'<p class="nochart">{caption}: 无数据可绘制(表 {escape(chart.table)} 缺失或为空)。</p>')
        else:
            items.append(f'<figure class="chart">{chart.svg}<figcaption>{caption}</figcaption></figure>')
    return "<section>\n<h2>图表</h2>\n" + "\n".join(items) + "\n</section>"


def _tables(tables: Iterable[Table]) -> str:
    return "<section>\n<h2>数据表</h2>\n" + "\n".join(_table(t) for t in tables) + "\n</section>"


def _table(table: Table) -> str:
    header = "".join(f"<th>{escape(_heading(c))}</th>" for c in table.columns)
    rows = "\n".join(
        "<tr>" + "".join(_cell(c, v) for c, v in zip(table.columns, row, strict=True)) + "</tr>" for row in table.rows
    )
    return (
        f"<table><caption>{escape(table.title)}</caption>\n<thead><tr>{header}</tr></thead>\n"
        f"<tbody>\n{rows}\n</tbody></table>"
    )


def _cell(column: str, value: str | int | None) -> str:
    if value is None:
        return '<td class="num"><span class="missing">缺</span></td>'
    if isinstance(value, int):
        return f'<td class="num">{_number(column, value)}</td>'
    return f"<td>{escape(value)}</td>"


def _heading(column: str) -> str:
    return COLUMNS.get(column) or (f"{column.removesuffix('_fen')}(元)" if column.endswith("_fen") else column)


def _number(column: str, value: int) -> str:
    if column.endswith("_fen"):
        return yuan_grouped(value)
    if column.endswith("_bp"):
        return f"{value / 100:.2f}%"
    return f"{value:,}"


def _sources(sources: Iterable[Source]) -> str:
    rows = "\n".join(
        f"<tr><td>{escape(s.service)}</td><td>{escape(s.url)}</td>"
        f"<td>{escape(s.computed_at.isoformat()) if s.computed_at else '—'}</td>"
        f"<td>{_status(s)}</td></tr>"
        for s in sources
    )
    return (
        "<section>\n<h2>数据来源</h2>\n<table><caption>各服务的报表部分</caption>\n"
        "<thead><tr><th>服务</th><th>地址</th><th>计算时间</th><th>状态</th></tr></thead>\n"
        f"<tbody>\n{rows}\n</tbody></table>\n</section>"
    )


def _status(source: Source) -> str:
    if source.error is None:
        return "已取得"
    return f'<span class="error">未能取得: {escape(source.error)}</span>'
