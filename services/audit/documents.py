"""Text written into the documents audit hands out: Markdown tables people read, CSV files spreadsheets open."""

from __future__ import annotations

from typing import Any

# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(...) in a lead's description).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def markdown_cell(text: str | None) -> str:
    """One table cell: a '|' or a line break in the text would end the cell or the row, and forge the next."""
    return " ".join((text or "").replace("|", "/").split())


def spreadsheet_safe(value: Any) -> Any:
    """A CSV value a spreadsheet shows as text: a leading formula character is quoted with an apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
