"""The document's tables as files: one CSV each (UTF-8 with a BOM, so that Excel opens the Chinese correctly) and one
XLSX workbook, a sheet per table with its header row bold. Rendered in memory: the command writes them.

Amounts stay integer fen (`*_fen`); each fen column is followed by its yuan (`*_yuan`, two decimals) for the reader:
a number in the workbook (format 0.00), text in the CSV. Text from services is never a formula: a cell that a
spreadsheet would read as one (starting with = + - @, a tab or a carriage return) is written with a leading "'".
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from io import BytesIO, StringIO

from openpyxl import Workbook
from openpyxl.styles import Font

from shared.half_year_report.amounts import in_yuan
from shared.half_year_report.document import Table

Cell = str | int | Decimal | None
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """The text as a spreadsheet shows it, never evaluated."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _with_yuan(table: Table) -> tuple[list[str], list[list[Cell]]]:
    """The table's columns and rows, a `*_yuan` column after each `*_fen` one, text made inert."""
    fen = [i for i, c in enumerate(table.columns) if c.endswith("_fen")]
    columns: list[str] = []
    for i, c in enumerate(table.columns):
        columns += [_text(c), _text(c.removesuffix("_fen") + "_yuan")] if i in fen else [_text(c)]
    rows: list[list[Cell]] = []
    for row in table.rows:
        cells: list[Cell] = []
        for i, value in enumerate(row):
            cell = _text(value) if isinstance(value, str) else value
            cells += [cell, in_yuan(value) if isinstance(value, int) else None] if i in fen else [cell]
        rows.append(cells)
    return columns, rows


def csv_bytes(table: Table) -> bytes:
    columns, rows = _with_yuan(table)
    out = StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(tables: Iterable[Table]) -> bytes:
    book = Workbook()
    bold = Font(bold=True)
    for n, table in enumerate(tables):
        sheet = book.active if n == 0 and book.active is not None else book.create_sheet()
        sheet.title = table.name[:31]  # Excel's limit on a sheet's name
        columns, rows = _with_yuan(table)
        sheet.append(columns)
        for row in rows:
            sheet.append(row)
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever openpyxl made of it
                elif isinstance(cell.value, Decimal):
                    cell.number_format = "0.00"
        for cell in sheet[1]:
            cell.font = bold
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def table_files(tables: tuple[Table, ...]) -> dict[str, bytes]:
    """Every table as `tables/<name>.csv`, and all in `report.xlsx`: the files' paths (relative) and contents."""
    files = {f"tables/{table.name}.csv": csv_bytes(table) for table in tables}
    return {**files, "report.xlsx": xlsx_bytes(tables)}
