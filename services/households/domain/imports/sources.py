"""The files an import reads, as rows of text fields (header first): UTF-8 CSV, or an XLSX workbook's first
sheet (the form township offices keep their registers in)."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any


class ImportAborted(Exception):
    """The file cannot be imported (unreadable, or missing columns): nothing more is written. A file found unreadable
    part way keeps the chunks written before; running the import again once it is fixed writes the rest."""


Numbered = tuple[int, list[str]]  # the line (or sheet row) a row starts on, and its fields


@dataclass
class Table:
    """Rows of text fields (the header first), each with the line it starts on, and how much of the file they have
    covered so far (0-1)."""

    rows: Iterator[Numbered]
    read_fraction: Callable[[], float]


@contextmanager
def open_table(path: Path) -> Iterator[Table]:
    """The rows of the file at `path`: XLSX by its extension, CSV otherwise."""
    opener = _xlsx if path.suffix.lower() == ".xlsx" else _csv
    with opener(path) as table:
        yield table


@contextmanager
def _csv(path: Path) -> Iterator[Table]:
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle:
        size = os.fstat(raw.fileno()).st_size
        yield Table(_guarded(csv.reader(handle)), lambda: raw.tell() / size if size else 1.0)


def _guarded(reader: Any) -> Iterator[Numbered]:
    """The reader's records, each with the line it starts on (a quoted field may span lines)."""
    ended = 0
    try:
        for fields in reader:
            yield ended + 1, fields
            ended = reader.line_num
    except csv.Error as exc:
        raise ImportAborted(f"line {reader.line_num}: the file is not readable CSV ({exc})") from None
    except UnicodeDecodeError:
        raise ImportAborted(f"after line {ended}: the file is not UTF-8") from None


@contextmanager
def _xlsx(path: Path) -> Iterator[Table]:
    from openpyxl import load_workbook  # only XLSX imports pay for loading it

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportAborted(f"the file is not an XLSX workbook: {type(exc).__name__}") from None
    try:
        sheet = workbook.worksheets[0]
        total, read = sheet.max_row or 0, [0]

        def rows() -> Iterator[Numbered]:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                read[0] += 1
                yield number, [cell_text(value) for value in values]

        yield Table(rows(), lambda: read[0] / total if total else 1.0)
    finally:
        workbook.close()


def cell_text(value: Any) -> str:
    """A cell as the text a CSV would hold: dates as YYYY-MM-DD, whole numbers without a decimal point."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
