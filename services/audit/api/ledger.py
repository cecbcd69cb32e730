"""The tamper-evident log: verify the chain, export its head for signing outside the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.audit.domain import ledger
from services.audit.rules.ledger import ALGORITHM, CANONICAL_FORM, GENESIS_HASH
from services.audit.schemas.ledger import LedgerHeadRead, LedgerVerificationRead
from shared.api.clock import Now
from shared.auth import Principal, Role, require_roles
from shared.errors import InvalidInput
from shared.http import Transaction

router = APIRouter(prefix="/ledger", tags=["ledger"])
LedgerReader = Annotated[
    Principal, Depends(require_roles(Role.AUDITOR, Role.DISTRICT_OFFICE, Role.DISCIPLINE_COMMISSION))
]
Hash = Annotated[str | None, Query(pattern="^[0-9a-f]{64}$")]
Seq = Annotated[int | None, Query(ge=0, le=2**63 - 1)]  # a BIGINT; 0: the head of the empty log


@router.get("/verify")
async def verify(
    session: Transaction, _: LedgerReader, head_seq: Seq = None, head_hash: Hash = None
) -> LedgerVerificationRead:
    """Walk the whole chain and report the first broken link; with an exported head, check it still holds."""
    if (head_seq is None) != (head_hash is None):
        raise InvalidInput("Give both head_seq and head_hash, or neither.")
    expected = (head_seq, head_hash) if head_seq is not None and head_hash is not None else None
    return LedgerVerificationRead.model_validate(await ledger.verify(session, expected_head=expected))


@router.get("/head")
async def export_head(session: Transaction, _: LedgerReader, now: Now) -> LedgerHeadRead:
    """The chain head (sequence, hash, time) as JSON, to sign and keep outside the database."""
    last = await ledger.head(session)
    return LedgerHeadRead(
        seq=last.seq if last else 0,
        entry_hash=last.entry_hash if last else GENESIS_HASH,
        recorded_at=last.recorded_at if last else None,
        exported_at=now,
        algorithm=ALGORITHM,
        canonical_form=CANONICAL_FORM,
    )
