"""A bank's result file (回盘文件) read line by line, every line checked on its own (decoding, the header and the
amounts' form are `rules/bank_file.py`'s, shared with the export).

The layout (`RESULT_HEADER`; CRLF line ends, LF read too): `line_no,reference,amount_yuan,status,reason,
bank_reference,settled_on` — `reference` is the BatchLine id the export wrote, `amount_yuan` yuan with exactly two
decimals, `status` paid|failed|returned, `reason` a BankFailure value (empty when paid), `bank_reference` the bank's
own serial (may be empty), `settled_on` YYYY-MM-DD, not after today.

An error names the file's line as an editor shows it ("line 17"; the header is line 1). Nothing here knows the
batch: `rules/reconciliation.py` checks the lines against it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from services.subsidies.rules.bank_file import MAX_LISTED_ERRORS, RESULT_HEADER, fen_of
from services.subsidies.rules.vocabulary import BANK_OUTCOMES, BankFailure, LineStatus
from shared.errors import InvalidInput
from shared.timeutil import CALENDAR_YEARS

FILE = "file"

_LINE_NO = re.compile(r"[1-9][0-9]{0,8}")
_REFERENCE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_BANK_REFERENCE = re.compile(r"[\x21-\x7e]{1,64}")  # printable ASCII, no blank: what a bank's serial is made of
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_OUTCOMES = {s.value: s for s in BANK_OUTCOMES}
_REASONS = {r.value: r for r in BankFailure}


@dataclass(frozen=True, slots=True)
class ResultLine:
    """One line of a result file, read: what the bank says it did with one payment instruction."""

    row: int  # the file's line number (the header is 1)
    line_no: int
    reference: UUID
    amount_fen: int
    status: LineStatus
    reason: BankFailure | None
    bank_reference: str | None
    settled_on: date


def line_error(row: int, code: str, message: str) -> dict[str, Any]:
    """A per-line error as a refusal lists it."""
    return {"field": f"line {row}", "message": message, "code": code}


def refusal(errors: list[dict[str, Any]]) -> InvalidInput:
    """The 422 refusing a whole file: its errors in the file's order, the first MAX_LISTED_ERRORS listed, and how
    many there were in all (`error_count`)."""
    ordered = sorted(errors, key=lambda e: 0 if e["field"] == FILE else int(e["field"].removeprefix("line ")))
    return InvalidInput(
        f"The result file has {len(errors)} error(s); nothing was imported. Correct the file and import it again.",
        errors=ordered[:MAX_LISTED_ERRORS],
        error_count=len(errors),
    )


def parse_file(text: str, *, today: date) -> tuple[list[ResultLine], list[dict[str, Any]]]:
    """Every line of the file read and checked on its own: the lines read, and the errors of all the others.

    Blank lines are skipped; a reference or a line number given twice is an error on its second line.
    """
    rows = text.split("\n")
    if not "".join(rows).strip():
        return [], [{"field": FILE, "message": "The file is empty.", "code": "empty_file"}]
    if not _is_header(rows[0]):
        return [], [line_error(1, "wrong_header", f"The first line must be the header {','.join(RESULT_HEADER)}.")]
    lines: list[ResultLine] = []
    errors: list[dict[str, Any]] = []
    seen_numbers: set[int] = set()
    seen_references: set[UUID] = set()
    for row, raw in enumerate(rows[1:], start=2):
        if not raw.strip():
            continue
        read = _read_line(row, raw, today)
        if isinstance(read, dict):
            errors.append(read)
        elif read.line_no in seen_numbers or read.reference in seen_references:
            errors.append(line_error(row, "duplicate_line", "This line number or reference is on an earlier line."))
        else:
            seen_numbers.add(read.line_no)
            seen_references.add(read.reference)
            lines.append(read)
    if not lines and not errors:
        errors.append({"field": FILE, "message": "The file has a header and no line.", "code": "empty_file"})
    return lines, errors


def _is_header(raw: str) -> bool:
    """Whether the first line is the layout's header: one not even valid CSV (a stray quote) is not."""
    try:
        return _fields(raw) == list(RESULT_HEADER)
    except csv.Error:
        return False


def _fields(raw: str) -> list[str]:
    raw = raw.removesuffix("\r")
    return next(csv.reader([raw], strict=True)) if '"' in raw else raw.split(",")


class _Refused(Exception):
    """A line's first error (a code and a message)."""


def _read_line(row: int, raw: str, today: date) -> ResultLine | dict[str, Any]:
    """One line read, or its first error."""
    try:
        return _line(row, raw, today)
    except _Refused as refused:
        return line_error(row, *refused.args)


def _line(row: int, raw: str, today: date) -> ResultLine:
    try:
        fields = _fields(raw)
    except csv.Error:
        raise _Refused("malformed_line", "This line is not valid CSV (a stray quote?).") from None
    if len(fields) != len(RESULT_HEADER):
        raise _Refused("column_count", f"This line has {len(fields)} fields; the layout has {len(RESULT_HEADER)}.")
    line_no, reference, amount, status, reason, bank_reference, settled_on = (f.strip() for f in fields)
    _require(bool(_LINE_NO.fullmatch(line_no)), "bad_line_no", "line_no must be a whole number from 1.")
    _require(bool(_REFERENCE.fullmatch(reference)), "bad_reference", "reference must be the line's id as sent.")
    fen = _fen(amount)
    _require(bool(fen), "bad_amount", "amount_yuan must be yuan with exactly two decimals, such as 258.00.")
    _require(status in _OUTCOMES, "bad_status", "status must be paid, failed or returned.")
    outcome = _OUTCOMES[status]
    _require(
        (outcome is LineStatus.PAID) == (reason == "") and (not reason or reason in _REASONS),
        "bad_reason",
        f"reason must be empty when paid, else one of {', '.join(_REASONS)}.",
    )
    _require(
        not bank_reference or bool(_BANK_REFERENCE.fullmatch(bank_reference)),
        "bad_bank_reference",
        "bank_reference is at most 64 printable ASCII characters.",
    )
    day = _settled_on(settled_on, today)
    _require(day is not None, "bad_settled_on", "settled_on must be a date written YYYY-MM-DD, not after today.")
    assert fen is not None and day is not None  # `_require` above
    return ResultLine(
        row=row,
        line_no=int(line_no),
        reference=UUID(reference),
        amount_fen=fen,
        status=outcome,
        reason=_REASONS[reason] if reason else None,
        bank_reference=bank_reference or None,
        settled_on=day,
    )


def _require(holds: bool, code: str, message: str) -> None:
    if not holds:
        raise _Refused(code, message)


def _fen(amount: str) -> int | None:
    try:
        return fen_of(amount)
    except ValueError:
        return None


def _settled_on(text: str, today: date) -> date | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if day.year in CALENDAR_YEARS and day <= today else None
