"""The facts' dated history on real PostgreSQL: written by the handlers from households' events in any order, and
read as of a period's first day in bulk (each fact's latest change on or before it, picked by the database for a
chunk of households in one query) across chunks, by area and by chosen households."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import insert

from services.subsidies.domain import facts as facts_module
from services.subsidies.domain.facts import holder_facts
from services.subsidies.models import FactChange, HouseholdFacts, MemberFacts, Programme
from shared.contracts.households import (
    EpisodeDecision,
    HouseholdRegistered,
    HouseholdStatus,
    HouseholdStatusChanged,
    MemberAdded,
    MemberDied,
    MemberSchoolingChanged,
    MinimumAllowanceChanged,
    MonitoringEpisodeClosed,
    RiskFlagRaised,
    RiskKind,
)
from tests.support import apply_event, auth, running_app

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]
VILLAGE, OTHER_VILLAGE = "371523101201", "371523102201"
HOME, HEAD, STUDENT = UUID(int=1), UUID(int=11), UUID(int=12)
AT = datetime(2020, 1, 1, tzinfo=UTC)
EVER = date(1900, 1, 1)
S = HouseholdStatus


@pytest.fixture
async def api(pg_database: MakeDb) -> Any:
    async with running_app("subsidies", await pg_database("subsidies")) as (app, client):
        yield app, client


async def _values(app: Any, code: str, period: str, **kwargs: Any) -> dict[tuple[UUID, UUID | None], dict[str, Any]]:
    async with app.state.sessions() as s:
        programme = await s.get(Programme, code)
        assert programme is not None
        return {
            (h.household_id, h.member_id): dict(h.values)
            async for chunk in holder_facts(s, programme, period, **kwargs)
            for h in chunk
        }


def _status(frm: S, to: S, on: date) -> HouseholdStatusChanged:
    return HouseholdStatusChanged(household_id=HOME, area_code=VILLAGE, from_status=frm, to_status=to,
                                  reason="officer_decision", effective_on=on, changed_by="officer-1")  # fmt: skip


async def test_the_history_kept_from_events_in_any_order_judges_each_period_by_its_first_day(api: Any) -> None:
    app, client = api
    await apply_event(app, HouseholdRegistered(household_id=HOME, household_code="CP-1", area_code=VILLAGE,
                                               member_count=2))  # fmt: skip
    for member, born in ((HEAD, date(1950, 1, 1)), (STUDENT, date(2002, 5, 1))):
        added = MemberAdded(household_id=HOME, member_id=member, relationship_to_head="son", birth_date=born)
        await apply_event(app, added)
    await apply_event(app, _status(S.EXITED_NO_POLICIES, S.RELAPSED, date(2020, 5, 5)))
    await apply_event(app, _status(S.IN_POVERTY, S.EXITED_NO_POLICIES, date(2020, 3, 10)))  # older, heard later
    await apply_event(app, MinimumAllowanceChanged(household_id=HOME, status="dibao", effective_on=date(2019, 1, 1)))
    episode = uuid4()
    await apply_event(
        app,
        MonitoringEpisodeClosed(
            household_id=HOME, episode_id=episode, decision=EpisodeDecision.RELAPSED, closed_on=date(2020, 5, 5)
        ),
    )
    await apply_event(app, RiskFlagRaised(household_id=HOME, flag_id=uuid4(), episode_id=episode, area_code=VILLAGE,
                                          kind=RiskKind.DISASTER, raised_on=date(2020, 3, 2)))  # fmt: skip
    await apply_event(
        app,
        MemberSchoolingChanged(household_id=HOME, member_id=STUDENT, enrolment="enrolled", school_stage="vocational"),
        at=datetime(2020, 2, 10, tzinfo=UTC),
    )
    await apply_event(app, MemberDied(household_id=HOME, member_id=HEAD, died_on=date(2020, 4, 20)))
    seen = {p: (await _values(app, "temporary_assistance", p))[(HOME, None)] for p in ("2020-02", "2020-04", "2020-06")}
    assert [(v["household.status"], v["household.monitoring_open"], v["household.risk_kinds"],
             v["household.member_count"]) for v in seen.values()] == [
        ("in_poverty", False, [], 2),
        ("exited_no_policies", True, ["disaster"], 2),
        ("relapsed", False, [], 1),
    ]  # fmt: skip
    spring = await _values(app, "rain_and_dew_education_aid", "2020-S1")
    autumn = await _values(app, "rain_and_dew_education_aid", "2020-S2")
    # The first enrolment heard holds as far back as the member is known; the head died in the spring term.
    assert (spring[(HOME, STUDENT)]["member.enrolment"], spring[(HOME, HEAD)]["member.alive"]) == ("enrolled", True)
    assert (autumn[(HOME, STUDENT)]["member.enrolment"], autumn[(HOME, HEAD)]["member.alive"]) == ("enrolled", False)
    explained = await client.get(f"/v1/households/{HOME}/eligibility", params={"programme": "dibao",
                                 "period": "2020-02"}, headers=auth("auditor"))  # fmt: skip
    [household] = explained.json()["holders"]
    assert (household["entitled"], household["amount_fen"], household["in_cycle"]) == (True, 2 * 25_800, None)


HOUSEHOLDS = 12_000  # more than two chunks of 5,000


def _change(household: UUID, fact: str, value: object, since: date, member: UUID | None = None) -> dict[str, Any]:
    key = "-" if member is None else str(member)
    return {"household_id": household, "holder_key": key, "fact": fact, "since": since, "member_id": member,
            "value": value, "recorded_at": AT}  # fmt: skip


def _seed_rows(n: int) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Household n, its member and their history, the kind of history chosen by n % 4:
    0: 低保 from 2019, ended 2020-05-01; 1: exited 2020-02-01 and relapsed 2020-08-01 (after the period);
    2: nothing known (the defaults); 3: its one member died 2020-03-31, enrolled since ever."""
    household, member = UUID(int=100_000 + n), UUID(int=(1 << 64) + n)
    kind = n % 4
    changes = {
        0: [_change(household, "household.allowance", "dibao", date(2019, 1, 1)),
            _change(household, "household.allowance", "none", date(2020, 5, 1))],
        1: [_change(household, "household.status", "in_poverty", EVER),
            _change(household, "household.status", "exited_no_policies", date(2020, 2, 1)),
            _change(household, "household.status", "relapsed", date(2020, 8, 1))],
        2: [],
        3: [_change(household, "member.alive", False, date(2020, 4, 1), member),
            _change(household, "member.enrolment", "enrolled", EVER, member)],
    }[kind]  # fmt: skip
    area = VILLAGE if n % 2 else OTHER_VILLAGE
    row = {"household_id": household, "area_code": area, "member_count": 0 if kind == 3 else 1,
           "monitoring_open": False, "risk_kinds": [], "updated_at": AT}  # fmt: skip
    died = date(2020, 3, 31) if kind == 3 else None
    return (
        row,
        [{"member_id": member, "household_id": household, "birth_date": date(1980, 1, 1), "died_on": died}],
        changes,
    )


async def test_a_district_is_read_as_of_a_first_day_in_chunks_by_area_and_by_household(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = api
    households, members, changes = [], [], []
    for n in range(HOUSEHOLDS):
        row, member_rows, change_rows = _seed_rows(n)
        households.append(row)
        members += member_rows
        changes += change_rows
    async with app.state.sessions() as s, s.begin():
        for table, rows in ((HouseholdFacts, households), (MemberFacts, members), (FactChange, changes)):
            await s.execute(insert(table), rows)
    expected = {
        0: ("in_poverty", "dibao", 1),
        1: ("exited_no_policies", "none", 1),
        2: ("in_poverty", "none", 1),
        3: ("in_poverty", "none", 1),  # died on 31 March: living on 1 March
    }
    march = await _values(app, "dibao", "2020-03")
    assert len(march) == HOUSEHOLDS
    for (household, _), v in march.items():
        n = household.int - 100_000
        got = (v["household.status"], v["household.allowance"], v["household.member_count"])
        assert got == expected[n % 4], n
    june = await _values(app, "dibao", "2020-06")
    assert {v["household.allowance"] for (h, _), v in june.items() if (h.int - 100_000) % 4 == 0} == {"none"}
    assert {v["household.member_count"] for (h, _), v in june.items() if (h.int - 100_000) % 4 == 3} == {0}
    year = await _values(app, "pension_premium_subsidy", "2020")
    dead = [(v["member.alive"], v["member.enrolment"]) for (h, m), v in year.items() if (h.int - 100_000) % 4 == 3]
    assert set(dead) == {(True, "enrolled")} and len(dead) == HOUSEHOLDS // 4
    monkeypatch.setattr(facts_module, "CHUNK", 7)
    chosen = [UUID(int=100_000 + n) for n in (3, 4, 5, 11_999)]
    picked = await _values(app, "pension_premium_subsidy", "2021", household_ids=chosen)
    assert sorted(h.int - 100_000 for h, _ in picked) == [3, 4, 5, 11_999]
    assert picked[(chosen[0], UUID(int=(1 << 64) + 3))]["member.alive"] is False
    village = await _values(app, "dibao", "2020-04", area_code=VILLAGE)
    assert len(village) == HOUSEHOLDS // 2 and all((h.int - 100_000) % 2 for h, _ in village)
