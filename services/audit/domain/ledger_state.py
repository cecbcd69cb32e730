"""State against the log: replay what the log says the findings, tasks and referrals are, compare with their tables.

The log's hashes prove its entries unchanged; this proves the tables still say what the entries do, so that a
referral deleted or a severity lowered in its own table is caught, and that the entries only state moves the rules
make, so that a lowered severity appended to the log with a chained hash is caught too. Read the chain's
verification with it: facts are only as good as the chain that holds them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.audit.domain.ledger import verify
from services.audit.models import DisciplineReferral, Finding, LedgerEntry, RectificationTask
from services.audit.rules.ledger import Verification
from services.audit.rules.ledger_state import (
    Difference,
    Replay,
    State,
    differences,
    finding_fields,
    referral_fields,
    task_fields,
)
from shared.db import create_engine, session_factory

_BATCH = 1000


@dataclass(frozen=True)
class StateCheck:
    """What the check compared and every difference found (ids, fields and values: no personal data)."""

    ok: bool
    entries_replayed: int
    entities_checked: int
    differences: list[Difference]


async def _facts(session: AsyncSession) -> AsyncIterator[tuple[int, str, str]]:
    """Every entry that holds facts, in the log's order: (seq, event type, facts)."""
    after = None
    while True:
        stmt = select(col(LedgerEntry.seq), col(LedgerEntry.event_type), col(LedgerEntry.facts))
        stmt = stmt.where(col(LedgerEntry.facts).is_not(None)).order_by(col(LedgerEntry.seq))
        if after is not None:
            stmt = stmt.where(col(LedgerEntry.seq) > after)
        batch = (await session.execute(stmt.limit(_BATCH))).tuples().all()
        for seq, event_type, facts in batch:
            if facts is not None:
                yield seq, event_type, facts
        if len(batch) < _BATCH:
            return
        after = batch[-1][0]


async def _tables(session: AsyncSession) -> State:
    """The entities as their tables hold them, in the log's terms."""
    state: State = {}
    findings = select(col(Finding.id), col(Finding.status), col(Finding.severity))
    for id_, status, severity in (await session.execute(findings)).tuples():
        state[f"finding/{id_}"] = finding_fields(status, severity)
    tasks = select(
        col(RectificationTask.id),
        col(RectificationTask.status),
        col(RectificationTask.finding_id),
        col(RectificationTask.deadline),
    )
    for id_, status, finding_id, deadline in (await session.execute(tasks)).tuples():
        state[f"task/{id_}"] = task_fields(status, finding_id, deadline)
    referrals = select(
        col(DisciplineReferral.id),
        col(DisciplineReferral.finding_id),
        col(DisciplineReferral.reason),
        col(DisciplineReferral.severity),
    )
    for id_, finding_id, reason, severity in (await session.execute(referrals)).tuples():
        state[f"referral/{id_}"] = referral_fields(finding_id, reason, severity)
    return state


async def check_state(session: AsyncSession) -> StateCheck:
    """Replay the log's facts and compare every field they state with the findings', tasks' and referrals' rows; and
    report every move in the log the rules forbid."""
    replay = Replay()
    async for seq, event_type, facts in _facts(session):
        replay.apply(seq, event_type, facts)
    actual = await _tables(session)
    found = [*replay.forbidden, *differences(replay.state, actual)]
    return StateCheck(not found, replay.entries, len(replay.state.keys() | actual.keys()), found)


async def check_database(
    database_url: str, *, expected_head: tuple[int, str] | None = None, anchors: Iterable[tuple[int, str]] = ()
) -> tuple[Verification, StateCheck]:
    """Verify the log in audit's database directly and check the state against it (`poverty verify-ledger`): no
    service needs to be running."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return await verify(session, expected_head=expected_head, anchors=anchors), await check_state(session)
    finally:
        await engine.dispose()
