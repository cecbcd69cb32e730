"""Bodies of disbursement batches (代发批次), their lines and their bank files (代发文件)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from services.subsidies.domain.batches import AwaitingReason
from services.subsidies.rules.bank_file import BankFileEncoding
from services.subsidies.rules.vocabulary import BankFailure, BatchStatus, LineStatus
from shared.contracts.subsidies import PolicyCode
from shared.personal_data import ScreenedPaymentText
from shared.schemas import RequestBody

CHECKSUM = "sha256 of the bank file's UTF-8 form, kept at its first export; every later export has the same"
SENT_CHECKSUM = "sha256 of the bytes this export sent, in its encoding (`X-Checksum-SHA256`)"


class BatchRead(BaseModel):
    id: UUID
    cycle_id: UUID
    sequence: int = Field(description="1 for the cycle's first batch, 2, 3, ... for its follow-ups")
    status: BatchStatus
    line_count: int
    total_fen: int
    checksum: str | None = Field(description=CHECKSUM + "; null until exported")
    built_by: str
    built_at: datetime


class BatchListed(BatchRead):
    """A batch in a list across cycles, with its cycle's programme and period."""

    programme_code: PolicyCode
    period: str


class BatchBuilt(BatchRead):
    awaiting_count: int = Field(
        description="listed entitlements left out: no account in use, or the account an earlier line failed on not "
        "corrected yet (listed by `GET /v1/cycles/{cycle_id}/awaiting-batch`)"
    )
    withdrawn_count: int = Field(
        description="entitlements withdrawn instead of batched: no longer entitled when judged again on the facts "
        "known now (a death, 低保 ended, an exit reported since the approval), or already paid a one-off programme"
    )
    amended_count: int = Field(
        description="entitlements judged again to less than approved (a member of a per-member household died): "
        "their lines pay the lower amount"
    )


class LinePayee(BaseModel):
    """The account a line was sent to, masked."""

    id: UUID
    bank_code: str
    account_masked: str = Field(examples=["6217 **** **** 8901"])
    holder_name_masked: str = Field(examples=["张*三"])


class BatchLineRead(BaseModel):
    id: UUID = Field(description="the line's reference in the bank files")
    batch_id: UUID
    line_no: int
    entitlement_id: UUID
    household_id: UUID
    member_id: UUID | None
    holder_key: str
    area_code: str
    amount_fen: int
    status: LineStatus
    bank_reason: BankFailure | None
    bank_reference: str | None
    settled_on: date | None
    payee: LinePayee


class BatchLineListed(BatchLineRead):
    """A bank line in a list across cycles and batches, with its cycle's programme and period."""

    cycle_id: UUID
    programme_code: PolicyCode
    period: str


class AwaitingEntitlementRead(BaseModel):
    """A listed entitlement no pending or paid line holds, and why it is not in a batch yet."""

    entitlement_id: UUID
    household_id: UUID
    member_id: UUID | None
    holder_key: str
    area_code: str
    amount_fen: int
    payee_id: UUID | None = Field(description="the account a batch would pay it into: the holder's own, else the "
                                  "household's; null: none in use")  # fmt: skip
    reason: AwaitingReason = Field(
        description="`ready`: the next batch takes it; `no_payee`: record an account; `account_not_corrected`: the "
        "account in use is the one an earlier line failed on, record the corrected one"
    )


class BankFileRequest(RequestBody):
    """Export a batch's bank file: the encoding the bank reads, and why (kept in the export log and audit's)."""

    example: ClassVar[dict[str, Any]] = {"encoding": "gbk", "reason": "2020年6月低保代发, 报送农商行"}

    encoding: BankFileEncoding = Field(description="`gbk` for county banks that expect it, or `utf-8`")
    reason: Annotated[
        ScreenedPaymentText,
        Field(min_length=1, max_length=500, description="why (no ID-card or bank account number: it is published)"),
    ]


class BankFileExportRead(BaseModel):
    id: UUID
    batch_id: UUID
    encoding: BankFileEncoding
    checksum: str = Field(description=SENT_CHECKSUM)
    reason: str
    exported_by: str
    exported_at: datetime
