"""The report as Markdown: title, period and area, section one with the seed's headings, the sources, the tables.

A figure the platform does not hold, or one a service did not answer with, is written 〔缺: what it is〕, explained
in a footnote: never a number of our own.
"""

from __future__ import annotations

from shared.half_year_report.document import Document, Missing, Part, Stated, Table

MISSING_NOTE = (
    "〔缺: …〕 marks a figure this report cannot give: either the platform does not hold it (the seed report's own "
    "number is listed in the table `stated_figures`), or the service that holds it could not be read (see the "
    "sources). It is never filled with an estimate or a zero."
)


def missing_marker(what: str) -> str:
    return f"〔缺: {what}〕"


def part_text(part: Part) -> str:
    """A sentence's part as the reader sees it: text, a figure written, or the missing marker."""
    if isinstance(part, str):
        return part
    if isinstance(part, Stated):
        return part.written if part.value is not None else missing_marker(f"{part.ref} 未返回")
    return missing_marker(part.what)


def _cell(value: str | int | None) -> str:
    return "" if value is None else str(value).replace("|", "\\|")


def table_markdown(table: Table) -> list[str]:
    lines = [f"### {table.title} (`{table.name}`)", "", "| " + " | ".join(table.columns) + " |"]
    lines.append("|" + " --- |" * len(table.columns))
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table.rows]
    return [*lines, ""]


def _sources(document: Document) -> list[str]:
    lines = ["## 数据来源", ""]
    for s in document.sources:
        state = f"computed_at {s.computed_at.isoformat()}" if s.computed_at else f"**未能读取**: {s.error}"
        lines.append(f"- {s.service}: {s.url} — {state}")
    return [*lines, ""]


def render(document: Document) -> str:
    """The document as Markdown (UTF-8 text)."""
    lines = [
        f"# {document.title}",
        "",
        f"期间: {document.period_from} 至 {document.period_to} · 区域代码: {document.area_code}",
        "",
    ]
    for section in document.sections:
        if section.heading:
            lines += [f"## {section.heading}", ""]
        for paragraph in section.paragraphs:
            text = "".join(part_text(p) for p in paragraph.parts)
            heading = f"**{paragraph.heading}**" if paragraph.heading else ""
            lines += [f"{heading}{text}" + ("[^missing]" if _has_missing(paragraph.parts) else ""), ""]
    lines += [*_sources(document), "## 数据表", ""]
    for table in document.tables:
        lines += table_markdown(table)
    return "\n".join([*lines, f"[^missing]: {MISSING_NOTE}", ""])


def _has_missing(parts: tuple[Part, ...]) -> bool:
    return any(isinstance(p, Missing) or (isinstance(p, Stated) and p.value is None) for p in parts)
