"""The document's tables as files: one CSV each (UTF-8 with a BOM, so that Excel opens the Chinese correctly) and one
XLSX workbook, a sheet per table with its header row bold.

Amounts stay integer fen (`*_fen`); each fen column is followed by its yuan (`*_yuan`, two decimals) for the reader.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from shared.half_year_report.document import Table

Cell = str | int | None


def _with_yuan(table: Table) -> tuple[list[str], list[list[Cell]]]:
    """The table's columns and rows, a `*_yuan` column after each `*_fen` one."""
    fen = [i for i, c in enumerate(table.columns) if c.endswith("_fen")]
    columns: list[str] = []
    for i, c in enumerate(table.columns):
        columns += [c, c.removesuffix("_fen") + "_yuan"] if i in fen else [c]
    rows: list[list[Cell]] = []
    for row in table.rows:
        cells: list[Cell] = []
        for i, value in enumerate(row):
            yuan = f"{Decimal(value) / 100:.2f}" if isinstance(value, int) else None
            cells += [value, yuan] if i in fen else [value]
        rows.append(cells)
    return columns, rows


def write_csv(table: Table, path: Path) -> None:
    columns, rows = _with_yuan(table)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows(["" if v is None else v for v in row] for row in rows)


def write_xlsx(tables: tuple[Table, ...], path: Path) -> None:
    book = Workbook()
    bold = Font(bold=True)
    for n, table in enumerate(tables):
        sheet = book.active if n == 0 and book.active is not None else book.create_sheet()
        sheet.title = table.name[:31]  # Excel's limit on a sheet's name
        columns, rows = _with_yuan(table)
        sheet.append(columns)
        for cell in sheet[1]:
            cell.font = bold
        for row in rows:
            sheet.append(row)
    book.save(path)


def write_tables(tables: tuple[Table, ...], directory: Path, workbook: Path) -> list[Path]:
    """Every table as `directory/<name>.csv`, and all in `workbook`; the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables:
        path = directory / f"{table.name}.csv"
        write_csv(table, path)
        written.append(path)
    write_xlsx(tables, workbook)
    return [*written, workbook]
