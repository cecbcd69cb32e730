"""Text written into the documents audit hands out: Markdown tables people read, CSV files spreadsheets open."""

from __future__ import annotations

import re
from typing import Any

# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(...) in a lead's description).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# What a Markdown renderer would act on beyond emphasis: HTML tags, autolinks, links and images, code spans.
_MARKUP = re.compile(r"([\\`<>\[\]])")


def markdown_cell(text: str | None) -> str:
    """One table cell, shown as written: a '|' or a line break would end the cell or the row and forge the next,
    and markup (a tag, a link) would be rendered; both are neutralised."""
    flat = " ".join((text or "").replace("|", "/").split())
    return _MARKUP.sub(r"\\\1", flat.replace("&", "&amp;"))


def spreadsheet_safe(value: Any) -> Any:
    """A CSV value a spreadsheet shows as text: a leading formula character is quoted with an apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
