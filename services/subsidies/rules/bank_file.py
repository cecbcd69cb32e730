"""The bank files (代发文件 out, 回盘文件 back): one CSV each, a header row, comma-separated, CRLF line ends, no BOM,
in UTF-8 or GBK (county banks expect GBK). Amounts are yuan with exactly two decimals, made from and read back into
integer fen by integer arithmetic only, never through a float.

Export: `line_no,batch_id,account_no,account_name,amount_yuan,purpose,reference` (reference = the line's id).
Result: `line_no,reference,amount_yuan,status,reason,bank_reference,settled_on` (read by `rules/bank_results.py`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from shared.errors import InvalidInput

EXPORT_HEADER = ("line_no", "batch_id", "account_no", "account_name", "amount_yuan", "purpose", "reference")
RESULT_HEADER = ("line_no", "reference", "amount_yuan", "status", "reason", "bank_reference", "settled_on")
LINE_END = "\r\n"
MAX_LISTED_ERRORS = 100  # a file's error list names this many lines at most, with the count of all of them
_YUAN = re.compile(r"(0|[1-9][0-9]{0,11})\.([0-9]{2})", re.ASCII)


class BankFileEncoding(StrEnum):
    """How a bank file's text is written as bytes."""

    UTF_8 = "utf-8"
    GBK = "gbk"


@dataclass(frozen=True)
class ExportLine:
    """One payment instruction as the bank reads it."""

    line_no: int
    batch_id: UUID
    account_no: str
    account_name: str
    amount_fen: int
    purpose: str
    reference: UUID


def yuan(fen: int) -> str:
    """`25800` -> `"258.00"`: whole yuan, a point and two digits of fen."""
    if fen < 0:
        raise ValueError("a bank file amount is never negative")
    return f"{fen // 100}.{fen % 100:02d}"


def fen_of(text: str) -> int:
    """`"258.00"` -> `25800`; ValueError for anything but digits, a point and exactly two decimals."""
    match = _YUAN.fullmatch(text)
    if match is None:
        raise ValueError("an amount is yuan with exactly two decimals, such as 258.00")
    return int(match[1]) * 100 + int(match[2])


def purpose_of(programme_name: str, period: str) -> str:
    """What the bank prints on the holder's statement: the programme and the period (`低保 2020-06`)."""
    return f"{programme_name} {period}"


class ExportWriter:
    """The export file as text, written a chunk of lines at a time, in line number order."""

    def __init__(self) -> None:
        self._out = io.StringIO()
        self._csv = csv.writer(self._out, lineterminator=LINE_END)
        self._csv.writerow(EXPORT_HEADER)

    def write(self, lines: Iterable[ExportLine]) -> None:
        self._csv.writerows(
            (
                line.line_no,
                line.batch_id,
                line.account_no,
                line.account_name,
                yuan(line.amount_fen),
                line.purpose,
                line.reference,
            )
            for line in lines
        )

    def text(self) -> str:
        return self._out.getvalue()


def checksum(text: str) -> str:
    """sha256 of the file's UTF-8 form, the batch's canonical checksum: the same lines give the same checksum
    whichever encoding was exported."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def bytes_checksum(content: bytes) -> str:
    """sha256 of the bytes sent (GBK or UTF-8): what the receiver of one export can check its file against."""
    return hashlib.sha256(content).hexdigest()


def encode_file(text: str, encoding: BankFileEncoding) -> bytes:
    """The file's bytes; InvalidInput naming every line (by its line_no) with a character the encoding lacks (a
    rare character of a name, outside GBK): never a partial file."""
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        bad = [row.split(",", 1)[0] for row in text.split(LINE_END)[1:] if not _encodable(row, encoding)]
        raise InvalidInput(
            f"{len(bad)} line(s) hold a character that {encoding} cannot write; export the file in UTF-8 or "
            "correct the holders' names.",
            errors=[
                {
                    "field": f"line {no}",
                    "message": f"a character cannot be written in {encoding}",
                    "code": "not_encodable",
                }
                for no in bad[:MAX_LISTED_ERRORS]
            ],
            error_count=len(bad),
        ) from None


def decode_file(data: bytes, encoding: BankFileEncoding) -> str:
    """A received file's text; InvalidInput naming the first line (counting the header as line 1) that is not
    text in the declared encoding (a GBK file declared UTF-8)."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        rows = data.split(b"\n")
        number = next((n for n, row in enumerate(rows, 1) if not _decodable(row, encoding)), len(rows))
        raise InvalidInput(
            f"The file is not {encoding} text: line {number} does not decode. Declare the encoding the bank used.",
            errors=[{"field": f"line {number}", "message": f"not {encoding} text", "code": "not_decodable"}],
        ) from None


def _encodable(row: str, encoding: str) -> bool:
    try:
        row.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _decodable(row: bytes, encoding: str) -> bool:
    try:
        row.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True
