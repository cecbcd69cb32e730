"""The tamper-evident log: verify the chain (against its anchored heads), export its head, check the state."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.audit.api.deps import LedgerReader
from services.audit.domain import ledger, ledger_state
from services.audit.rules.ledger import ALGORITHM, CANONICAL_FORM, GENESIS_HASH, HEAD_PATTERN, parse_head
from services.audit.schemas.ledger import (
    MAX_LISTED_DIFFERENCES,
    LedgerHeadRead,
    LedgerVerificationRead,
    StateCheckRead,
    StateDifferenceRead,
)
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
    """Verify the tamper-evident log (防篡改日志): walk the whole chain and report every broken link

    Each entry must follow the one before it and match its own hash: each that does not is named, with what went
    wrong (`inserted`, `missing_entries`, `reordered`, `broken_link`, `altered`), and the walk goes on from it, so
    one bad row hides nothing after it (the first 100 listed, all counted). The log must still reach every head
    anchored so far (published to the discipline commission and kept append-only) with the anchored hash
    (`anchor_truncated`, `anchor_mismatch`): what a chain alone cannot show, a cut tail or a rewrite with every hash
    recomputed. With `head`, an exported head, likewise (`head_truncated`, `head_mismatch`). `protected` says
    whether the service's own database role could change the log. Reads every entry: slow on a long log.
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


@router.get("/state-check")
async def check_state(session: Transaction, _: LedgerReader) -> StateCheckRead:
    """Check the findings, tasks and referrals against the log (状态核对): every difference, field by field

    Replays the state each change logged (a finding's status and severity; a task's status, finding and deadline; a
    referral's finding, reason and severity) and compares it with their tables: a row deleted, a field changed
    behind the service's back, or a row the log never made is a difference, with the log's value and the table's
    (ids and codes only; the first 1000 listed, all counted). Read it with `/v1/ledger/verify`: the log's facts are
    as good as its chain. Reads every entry and row: slow on a long log.
    """
    result = await ledger_state.check_state(session)
    return StateCheckRead(
        ok=result.ok,
        entries_replayed=result.entries_replayed,
        entities_checked=result.entities_checked,
        difference_count=len(result.differences),
        differences=[StateDifferenceRead.model_validate(d) for d in result.differences[:MAX_LISTED_DIFFERENCES]],
    )
