"""Bodies of a bank's result file (回盘文件): the CSV sent in, the import's summary out."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from services.subsidies.rules.bank_file import RESULT_HEADER, BankFileEncoding

# What the OpenAPI document shows as the body of an import: the layout, with one line of each outcome.
EXAMPLE_FILE = "\r\n".join(
    [
        ",".join(RESULT_HEADER),
        "1,6f1d1bb0-5c3a-4e1e-9a57-2d8c0b7e4a10,774.00,paid,,B20200615000001,2020-06-15",
        "2,0b7e4a10-5c3a-4e1e-9a57-2d8c6f1d1bb0,258.00,failed,account_closed,,2020-06-15",
        "3,9a572d8c-5c3a-4e1e-9a57-2d8c0b7e4a10,516.00,returned,name_mismatch,B20200615000003,2020-06-18",
        "",
    ]
)


class BankResultImportRead(BaseModel):
    """A result file imported for a batch, and what its lines said (as the bank reported them: a line already
    known, imported again in another file, is counted, not applied twice)."""

    id: UUID
    batch_id: UUID
    checksum: str = Field(description="sha256 of the bytes imported: the same bytes again replay this import")
    encoding: BankFileEncoding
    line_count: int
    paid_count: int = Field(description="lines the bank reported paid, but those counted as duplicates")
    failed_count: int
    returned_count: int
    duplicate_count: int = Field(
        description="lines already paid that the bank reported paid again under another serial or on another day: "
        "the money went out twice (重复支付); each is a `duplicate_disbursement` leak (its `check_id` this import's id)"
    )
    imported_by: str
    imported_at: datetime
