"""The report as Markdown: title, period and area, section one with the seed's headings, the sources, the tables.

A figure the platform does not hold, or one a service did not answer with, is marked (`marking`), explained in a
footnote: never a number of our own. Every text is escaped: names, codes, `by` values and errors come from services,
and none may start a heading, a link or inline HTML.
"""

from __future__ import annotations

import re

from shared.half_year_report.document import Document, Part, Stated, Table
from shared.half_year_report.marking import is_marked, mark, unread

MISSING_NOTE = (
    "〔缺: …〕 marks a figure this report cannot give: either the platform does not hold it (the seed report's own "
    "number is listed in the table `stated_figures`), or the service that holds it could not be read or did not "
    "report it (see the sources). It is never filled with an estimate or a zero."
)
_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~#!])")
_BREAKS = re.compile(r"[\r\n]+")


def text(value: object) -> str:
    """The value as literal Markdown text on one line."""
    return _SPECIAL.sub(r"\\\1", _BREAKS.sub(" ", str(value)))


def part_text(part: Part, not_read: frozenset[str] = frozenset()) -> str:
    """A sentence's part as the reader sees it: text, a figure written, or its mark, escaped."""
    if isinstance(part, str):
        return text(part)
    if isinstance(part, Stated) and part.value is not None:
        return text(part.written)
    return text(mark(part, not_read).text)


def _cell(value: str | int | None) -> str:
    return "" if value is None else text(value)


def table_markdown(table: Table) -> list[str]:
    lines = [f"### {text(table.title)} (`{table.name}`)", "", "| " + " | ".join(map(text, table.columns)) + " |"]
    lines.append("|" + " --- |" * len(table.columns))
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table.rows]
    return [*lines, ""]


def _sources(document: Document) -> list[str]:
    lines = ["## 数据来源", ""]
    for s in document.sources:
        state = f"computed_at {s.computed_at.isoformat()}" if s.computed_at else f"**未能读取**: {text(s.error)}"
        lines.append(f"- {text(s.service)}: {text(s.url)} — {state}")
    return [*lines, ""]


def render(document: Document) -> str:
    """The document as Markdown (UTF-8 text)."""
    lines = [
        f"# {text(document.title)}",
        "",
        f"期间: {document.period_from} 至 {document.period_to} · 区域代码: {text(document.area_code)}",
        "",
    ]
    not_read = unread(document.sources)
    for section in document.sections:
        if section.heading:
            lines += [f"## {text(section.heading)}", ""]
        for paragraph in section.paragraphs:
            body = "".join(part_text(p, not_read) for p in paragraph.parts)
            heading = f"**{text(paragraph.heading)}**" if paragraph.heading else ""
            note = "[^missing]" if any(is_marked(p) for p in paragraph.parts) else ""
            lines += [f"{heading}{body}{note}", ""]
    lines += [*_sources(document), "## 数据表", ""]
    for table in document.tables:
        lines += table_markdown(table)
    return "\n".join([*lines, f"[^missing]: {MISSING_NOTE}", ""])
