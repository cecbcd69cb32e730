"""The tamper-evident log: a verification's outcome and the exported chain head."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from services.audit.rules.ledger import BreakKind
from services.audit.schemas.common import Output


class LedgerBreakRead(Output):
    seq: int
    kind: BreakKind
    detail: str


class LedgerVerificationRead(Output):
    ok: bool
    entries_checked: int
    head_seq: int
    head_hash: str
    first_break: LedgerBreakRead | None


class LedgerHeadRead(BaseModel):
    """The chain head, to be signed and kept outside the database."""

    seq: int
    entry_hash: str
    recorded_at: datetime | None
    exported_at: datetime
    algorithm: str
    canonical_form: str
