"""The tamper-evident log: verify the chain, export its head for signing outside the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.audit.api.deps import LedgerReader
from services.audit.domain import ledger
from services.audit.rules.ledger import ALGORITHM, CANONICAL_FORM, GENESIS_HASH, HEAD_PATTERN, parse_head
from services.audit.schemas.ledger import LedgerHeadRead, LedgerVerificationRead
from shared.api.clock import Now
from shared.http import Transaction

router = APIRouter(prefix="/ledger", tags=["ledger"])
Head = Annotated[
    str | None,
    Query(
        pattern=HEAD_PATTERN,
        description="an exported head, `<seq>:<entry_hash>` (from `/v1/ledger/head`), to check the log still "
        "reaches it unchanged",
        examples=[f"3:{'0' * 64}"],
    ),
]


@router.get("/verify")
async def verify(session: Transaction, _: LedgerReader, head: Head = None) -> LedgerVerificationRead:
    """Verify the tamper-evident log (防篡改日志): walk the whole chain and report the first broken link

    Each entry must follow the one before it and match its own hash: the first that does not is named, with what
    went wrong (`inserted`, `missing_entries`, `reordered`, `broken_link`, `altered`). With `head`, an exported
    head, the log must also still reach it with the same hash (`head_truncated`, `head_mismatch`): the one
    tampering a chain alone cannot show, a cut tail. Reads every entry: slow on a long log.
    """
    expected = None if head is None else parse_head(head)
    return LedgerVerificationRead.model_validate(await ledger.verify(session, expected_head=expected))


@router.get("/head")
async def export_head(session: Transaction, _: LedgerReader, now: Now) -> LedgerHeadRead:
    """Export the log's head (sequence, hash, time), to sign and keep outside the database

    With the algorithm and the canonical form of an entry's hash, so that the chain can be checked without this
    service. Pass it back to `/v1/ledger/verify` as `head=<seq>:<entry_hash>`.
    """
    last = await ledger.head(session)
    return LedgerHeadRead(
        seq=last.seq if last else 0,
        entry_hash=last.entry_hash if last else GENESIS_HASH,
        recorded_at=last.recorded_at if last else None,
        exported_at=now,
        algorithm=ALGORITHM,
        canonical_form=CANONICAL_FORM,
    )
