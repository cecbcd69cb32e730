"""Accountability (问责) on SQLite: decisions against named people, dates checked, names kept out of events,
and the named notice (实名制通报) produced from them."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain import accountability
from services.audit.models import AccountabilityAction, DisciplineReferral, LedgerEntry
from services.audit.rules.accountability import named_notice_markdown
from shared.contracts.audit import AccountabilityKind
from shared.db import create_engine, unit_of_work
from shared.errors import InvalidInput, NotFound
from shared.messaging.outbox import OutboxMessage
from tests.unit.test_audit_support import COMMISSION, NOW, count, facts, open_task

NAME = "王小明"


@pytest.fixture
async def sessions(sqlite_url: Any) -> Any:
    engine = create_engine(await sqlite_url("audit"))
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


def decision(kind: AccountabilityKind = AccountabilityKind.TALK, on: date = date(2020, 5, 12), **kw: Any) -> Any:
    fields = {"person_name": NAME, "person_unit": "贾寨镇人民政府", "person_position": "扶贫专干", **kw}
    return accountability.Decision(kind=kind, decided_on=on, **fields)


async def referral(sessions: async_sessionmaker[AsyncSession], subject: str = "h1") -> DisciplineReferral:
    finding, _ = await open_task(sessions, facts(subject, grade="D"))  # severe: referred at once, on 2020-05-11
    async with sessions() as s:
        stmt = select(DisciplineReferral).where(col(DisciplineReferral.finding_id) == finding.id)
        return (await s.scalars(stmt)).one()


async def test_a_decision_is_recorded_with_the_name_but_the_event_carries_ids_only(sessions: Any) -> None:
    lead = await referral(sessions)
    async with unit_of_work(sessions) as s:
        action = await accountability.record_action(
            s, lead.id, decision(), actor=COMMISSION, now=NOW + timedelta(days=1)
        )
    async with sessions() as s:
        stored = await s.get(AccountabilityAction, action.id)
        last = (await s.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id).desc()))).first()
        assert stored is not None and (stored.person_name, stored.finding_id) == (NAME, lead.finding_id)
        assert last is not None and last.event_type == "gov.poverty.audit.accountability_action_recorded.v1"
        assert str(action.id) in last.payload and NAME not in last.payload and "扶贫专干" not in last.payload
        assert await count(s, LedgerEntry) == 4  # recorded, opened, referred, decided


@pytest.mark.parametrize(
    ("decided_on", "message"),
    [(date(2020, 5, 13), "future"), (date(2020, 5, 10), "before the referral")],
)
async def test_a_decision_is_dated_between_the_referral_and_today(
    sessions: Any, decided_on: date, message: str
) -> None:
    lead = await referral(sessions)
    async with sessions() as s:
        before = (await count(s, AccountabilityAction), await count(s, OutboxMessage))
    with pytest.raises(InvalidInput, match=message):
        async with unit_of_work(sessions) as s:
            await accountability.record_action(
                s, lead.id, decision(on=decided_on), actor=COMMISSION, now=NOW + timedelta(days=1)
            )
    async with sessions() as s:
        assert (await count(s, AccountabilityAction), await count(s, OutboxMessage)) == before


async def test_a_decision_needs_a_referral(sessions: Any) -> None:
    with pytest.raises(NotFound):
        async with unit_of_work(sessions) as s:
            await accountability.record_action(s, uuid.uuid4(), decision(), actor=COMMISSION, now=NOW)


async def test_the_named_notice_lists_the_periods_decisions(sessions: Any) -> None:
    first, second = await referral(sessions, "h1"), await referral(sessions, "h2")
    later = NOW + timedelta(days=10)
    sanction = decision(AccountabilityKind.SANCTION, date(2020, 5, 20), person_name="赵六", person_position=None)
    async with unit_of_work(sessions) as s:
        await accountability.record_action(s, second.id, sanction, actor=COMMISSION, now=later)
        await accountability.record_action(s, first.id, decision(on=date(2020, 5, 12)), actor=COMMISSION, now=later)
        june = decision(on=date(2020, 6, 2))  # outside the period
        await accountability.record_action(s, first.id, june, actor=COMMISSION, now=later + timedelta(days=30))
    async with sessions() as s:
        rows = await accountability.actions_between(s, start=date(2020, 5, 1), end=date(2020, 5, 31))
    assert named_notice_markdown(rows, start=date(2020, 5, 1), end=date(2020, 5, 31)) == (
        "# 实名制通报 Named notice 2020-05-01 – 2020-05-31\n"
        "\n"
        "2 accountability decision(s).\n"
        "\n"
        "| # | Decided | Name | Unit | Position | Decision | Problem | Area |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| 1 | 2020-05-12 | 王小明 | 贾寨镇人民政府 | 扶贫专干 | 约谈 (talk) | housing_unsafe at h1 | 371523101201 |\n"
        "| 2 | 2020-05-20 | 赵六 | 贾寨镇人民政府 |  | 处分 (sanction) | housing_unsafe at h2 | 371523101201 |\n"
    )
