"""The household roll projects keeps from `households.events` (what plans and posts are decided from): each
event's effect, and every event sent again or out of its usual order leaving the roll as it should be."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select
from sqlmodel import col

from services.projects.models import RollHousehold, RollMember
from shared.contracts.households import (
    HouseholdRegistered,
    HouseholdStatus,
    HouseholdStatusChanged,
    HouseholdUpdated,
    MemberAdded,
    MemberDied,
    MemberDisabilityRecorded,
)
from shared.errors import NotFound
from tests.support import apply_event, running_app

VILLAGE = "371523101201"
OTHER_VILLAGE = "371523101202"


@pytest.fixture
async def app(sqlite_url: Any) -> Any:
    async with running_app("projects", await sqlite_url("projects")) as (app, _):
        yield app


def registered(household: UUID, members: int = 2) -> HouseholdRegistered:
    return HouseholdRegistered(household_id=household, household_code="CP-1", area_code=VILLAGE, member_count=members)


def added(household: UUID, member: UUID, born: date = date(1960, 3, 1)) -> MemberAdded:
    return MemberAdded(household_id=household, member_id=member, relationship_to_head="head", birth_date=born)


def died(household: UUID, member: UUID, on: date = date(2020, 5, 1)) -> MemberDied:
    return MemberDied(household_id=household, member_id=member, died_on=on)


def disabled(household: UUID, member: UUID, grade: int = 2) -> MemberDisabilityRecorded:
    return MemberDisabilityRecorded(
        household_id=household, member_id=member, disability_type="physical", grade=grade, certified_on=date(2019, 1, 1)
    )


def status_changed(household: UUID, to: HouseholdStatus) -> HouseholdStatusChanged:
    return HouseholdStatusChanged(
        household_id=household,
        area_code=VILLAGE,
        from_status=HouseholdStatus.IN_POVERTY,
        to_status=to,
        reason="officer_decision",
        effective_on=date(2020, 6, 1),
        changed_by="officer-1",
    )


async def roll(app: Any, household: UUID) -> tuple[RollHousehold, list[RollMember]]:
    async with app.state.sessions() as s:
        found = await s.get(RollHousehold, household)
        members = await s.scalars(select(RollMember).where(col(RollMember.household_id) == household))
        assert found is not None
        return found, sorted(members.all(), key=lambda m: str(m.birth_date))


async def test_a_registration_and_its_members_enter_the_roll(app: Any) -> None:
    h, head, child = uuid4(), uuid4(), uuid4()
    await apply_event(app, registered(h))
    for event in (added(h, head), added(h, child, date(2010, 9, 1))):
        await apply_event(app, event)
    household, members = await roll(app, h)
    assert (household.area_code, household.status, household.member_count) == (VILLAGE, "in_poverty", 2)
    assert [(m.member_id, m.birth_date, m.disability_grade, m.died_on) for m in members] == [
        (head, date(1960, 3, 1), None, None),
        (child, date(2010, 9, 1), None, None),
    ]


async def test_a_registration_sent_again_changes_nothing_that_happened_since(app: Any) -> None:
    h = uuid4()
    await apply_event(app, registered(h))
    await apply_event(app, status_changed(h, HouseholdStatus.EXITED_NO_POLICIES))
    await apply_event(app, HouseholdUpdated(household_id=h, area_code=OTHER_VILLAGE, changed=["area_code"]))
    await apply_event(app, registered(h, members=5))
    household, _ = await roll(app, h)
    assert (household.area_code, household.status, household.member_count) == (
        OTHER_VILLAGE,
        "exited_no_policies",
        2,
    )


async def test_a_death_counts_once_however_often_it_is_sent(app: Any) -> None:
    h, head, wife = uuid4(), uuid4(), uuid4()
    await apply_event(app, registered(h))
    await apply_event(app, added(h, head))
    await apply_event(app, added(h, wife, date(1962, 1, 1)))
    await apply_event(app, died(h, wife))
    await apply_event(app, died(h, wife))
    household, members = await roll(app, h)
    assert household.member_count == 1
    assert [m.died_on for m in members] == [None, date(2020, 5, 1)]


async def test_a_member_added_later_raises_the_count_and_a_resent_one_does_not(app: Any) -> None:
    h, head, baby = uuid4(), uuid4(), uuid4()
    await apply_event(app, registered(h, members=1))
    await apply_event(app, added(h, head))
    await apply_event(app, added(h, baby, date(2020, 4, 1)))
    await apply_event(app, added(h, baby, date(2020, 4, 1)))
    household, _ = await roll(app, h)
    assert household.member_count == 2


async def test_a_disability_or_death_heard_before_the_member_keeps_the_member_and_the_count(app: Any) -> None:
    h, head, son = uuid4(), uuid4(), uuid4()
    await apply_event(app, registered(h))
    await apply_event(app, disabled(h, son, grade=1))
    await apply_event(app, died(h, head))
    await apply_event(app, added(h, head))
    await apply_event(app, added(h, son, date(1990, 1, 1)))
    household, members = await roll(app, h)
    assert household.member_count == 1
    assert {m.member_id: (m.birth_date, m.disability_grade, m.died_on) for m in members} == {
        head: (date(1960, 3, 1), None, date(2020, 5, 1)),
        son: (date(1990, 1, 1), 1, None),
    }


async def test_a_new_member_after_a_death_is_counted(app: Any) -> None:
    h, head, wife, grandson = uuid4(), uuid4(), uuid4(), uuid4()
    await apply_event(app, registered(h))
    await apply_event(app, added(h, head))
    await apply_event(app, added(h, wife, date(1962, 1, 1)))
    await apply_event(app, died(h, head))
    await apply_event(app, added(h, grandson, date(2019, 1, 1)))
    household, _ = await roll(app, h)
    assert household.member_count == 2


async def test_status_and_area_follow_the_household(app: Any) -> None:
    h = uuid4()
    await apply_event(app, registered(h))
    await apply_event(app, status_changed(h, HouseholdStatus.MONITORED))
    await apply_event(app, HouseholdUpdated(household_id=h, area_code=VILLAGE, changed=["head_name"]))
    household, _ = await roll(app, h)
    assert (household.status, household.area_code) == ("monitored", VILLAGE)
    await apply_event(app, HouseholdUpdated(household_id=h, area_code=OTHER_VILLAGE, changed=["area_code"]))
    assert (await roll(app, h))[0].area_code == OTHER_VILLAGE


@pytest.mark.parametrize(
    "event",
    [
        lambda h: added(h, uuid4()),
        lambda h: died(h, uuid4()),
        lambda h: disabled(h, uuid4()),
        lambda h: status_changed(h, HouseholdStatus.MONITORED),
        lambda h: HouseholdUpdated(household_id=h, area_code=VILLAGE, changed=["area_code"]),
    ],
)
async def test_an_event_before_the_registration_is_refused_to_be_retried(app: Any, event: Any) -> None:
    h = uuid4()
    with pytest.raises(NotFound):
        await apply_event(app, event(h))
    async with app.state.sessions() as s:
        assert await s.get(RollHousehold, h) is None
        assert (await s.scalars(select(RollMember).where(col(RollMember.household_id) == h))).all() == []
