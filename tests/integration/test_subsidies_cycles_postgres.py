"""Cycles on real PostgreSQL: the unit tier's flows again, approvals racing for one cycle and for one programme's
funds, and a list of more holders than one chunk computed, re-checked and paged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, insert, select, update
from sqlmodel import col

from services.subsidies.models import CycleEntitlement, FactChange, HouseholdFacts, ProgrammeFund
from tests.support import assert_problem, auth
from tests.unit import test_subsidies_cycles as flows
from tests.unit.test_subsidies_cycles import AUDITOR, CASHIER, CLERK, DIRECTOR, FLAT_FEN, PRICE, cycles_app

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]
Scenario = Callable[[Any], Awaitable[None]]


@pytest.fixture
async def api(pg_database: MakeDb) -> AsyncIterator[Any]:
    async with cycles_app(await pg_database("subsidies")) as running:
        yield running


@pytest.mark.parametrize(
    "scenario",
    [
        flows.test_a_cycle_goes_from_draft_to_closed,
        flows.test_a_step_out_of_order_is_409_naming_the_status_and_changes_nothing,
        flows.test_computing_again_replaces_the_list_and_keeps_each_holders_entitlement,
        flows.test_a_per_member_standard_pays_each_living_member_and_approval_amends_it_after_a_death,
        flows.test_the_notice_shows_masked_names_and_ids_by_village_and_never_more,
        flows.test_a_village_cadre_reads_their_villages_notice_only,
        flows.test_a_member_programmes_notice_names_each_member,
        flows.test_an_upheld_objection_withdraws_the_entitlement_and_undecided_ones_block_submission,
        flows.test_an_upheld_objection_for_a_household_left_out_waits_for_the_list_computed_again,
        flows.test_whoever_computed_or_submitted_the_list_may_not_approve_it,
        flows.test_approval_withdraws_a_household_whose_dibao_ended_before_the_period,
        flows.test_a_list_over_the_programmes_funds_is_not_approved_and_nothing_is_withdrawn,
        flows.test_cycles_are_listed_newest_first_and_filtered,
        flows.test_entitlements_are_filtered_by_area_status_and_household_and_paged_by_id,
        flows.test_a_township_office_reads_the_entitlements_within_its_area,
    ],
    ids=lambda scenario: scenario.__name__.removeprefix("test_"),
)
async def test_the_flows_hold_on_postgres(api: Any, scenario: Scenario) -> None:
    await scenario(api)


async def test_one_cycle_approved_twice_at_once_is_approved_once(api: Any) -> None:
    app, client, clock = api
    cycle = await flows._submitted(client, clock)
    second = auth("finance_officer", sub="treasurer")
    answers = await asyncio.gather(*(flows._step(client, cycle, "approve", h) for h in (DIRECTOR, second)))
    assert sorted(r.status_code for r in answers) == [200, 409]
    assert len(await flows._events(app, "gov.poverty.subsidies.cycle_approved.v1")) == 1


async def test_two_cycles_approved_at_once_cannot_both_spend_the_same_funds(api: Any) -> None:
    app, client, clock = api
    await _fund(app, 4 * FLAT_FEN)
    may = await flows._open(client, period="2020-05")
    june = await flows._open(client, period="2020-06")
    for cycle in (may, june):
        await flows._step(client, cycle, "compute")
        await flows._post_notice(client, cycle)
    clock.on(date(2020, 6, 9))
    for cycle in (may, june):
        assert (await flows._step(client, cycle, "submit", CASHIER)).status_code == 200
    answers = await asyncio.gather(*(flows._step(client, cycle, "approve", DIRECTOR) for cycle in (may, june)))
    assert sorted(r.status_code for r in answers) == [200, 422]
    refused = next(r for r in answers if r.status_code == 422)
    assert assert_problem(refused, 422)["available_fen"] == FLAT_FEN


async def _fund(app: Any, amount_fen: int) -> None:
    async with app.state.sessions() as s, s.begin():
        await s.execute(
            update(ProgrammeFund).where(col(ProgrammeFund.programme_code) == PRICE).values(amount_fen=amount_fen)
        )


HOLDERS = 12_000  # more than two chunks of 5,000


async def _many_households(app: Any) -> list[UUID]:
    """HOLDERS households on 低保 in three villages, written as the consumer would have kept them."""
    at = datetime(2020, 1, 1, tzinfo=UTC)
    ids = [UUID(int=10_000 + n) for n in range(HOLDERS)]
    rows = [
        {
            "household_id": household,
            "area_code": f"371523101{201 + n % 3}",
            "member_count": 2,
            "status": "in_poverty",
            "allowance": "dibao",
            "allowance_since": date(2019, 1, 1),
            "previous_allowance": "none",
            "monitoring_open": False,
            "risk_kinds": [],
            "updated_at": at,
        }
        for n, household in enumerate(ids)
    ]
    history = [_allowance(household, "dibao", date(2019, 1, 1), at) for household in ids]
    async with app.state.sessions() as s, s.begin():
        await s.execute(insert(HouseholdFacts), rows)
        await s.execute(insert(FactChange), history)
    return ids


def _allowance(household: UUID, allowance: str, since: date, at: datetime) -> dict[str, Any]:
    """The household's 低保 status from `since` in the facts' history, as the consumer would have kept it."""
    return {"household_id": household, "holder_key": "-", "fact": "household.allowance", "since": since,
            "member_id": None, "value": allowance, "recorded_at": at}  # fmt: skip


async def test_a_list_of_many_holders_is_computed_rechecked_and_paged_in_chunks(api: Any) -> None:
    app, client, clock = api
    ids = await _many_households(app)
    await _fund(app, 10**9)
    cycle = await flows._open(client)
    computed = (await flows._step(client, cycle, "compute")).json()
    listed = HOLDERS + 3  # and A, B, FAR
    assert (computed["entitled_count"], computed["total_fen"]) == (listed, listed * FLAT_FEN)
    before = await _entitlement_ids(app, cycle["id"])
    recomputed = (await flows._step(client, cycle, "compute")).json()
    assert recomputed["entitled_count"] == listed
    assert await _entitlement_ids(app, cycle["id"]) == before  # each holder keeps their entitlement

    await flows._post_notice(client, cycle)
    clock.on(date(2020, 6, 9))
    await flows._step(client, cycle, "submit", CASHIER)
    ended = ids[::7]  # civil affairs ends 低保 from the period's first day, spread over every chunk
    async with app.state.sessions() as s, s.begin():
        at = datetime(2020, 6, 9, tzinfo=UTC)
        await s.execute(insert(FactChange), [_allowance(h, "none", date(2020, 6, 1), at) for h in ended])
        await s.execute(
            update(HouseholdFacts)
            .where(col(HouseholdFacts.household_id).in_(ended))
            .values(allowance="none", allowance_since=date(2020, 6, 1), previous_allowance="dibao")
        )
    approved = (await flows._step(client, cycle, "approve", DIRECTOR)).json()
    assert (approved["withdrawn_count"], approved["entitled_count"]) == (len(ended), listed - len(ended))
    assert approved["total_fen"] == (listed - len(ended)) * FLAT_FEN
    async with app.state.sessions() as s:
        withdrawn = await s.scalar(
            select(func.count()).where(
                col(CycleEntitlement.cycle_id) == UUID(cycle["id"]), col(CycleEntitlement.status) == "withdrawn"
            )
        )
    assert withdrawn == len(ended)

    seen, cursor = 0, None
    while True:
        query = "?limit=500" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"/v1/cycles/{cycle['id']}/notice{query}", headers=AUDITOR)).json()
        seen += len(page["items"])
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == listed - len(ended)
    assert_problem(await flows._step(client, cycle, "compute", CLERK), 409)  # approved: the list is what was paid


async def _entitlement_ids(app: Any, cycle_id: str) -> dict[tuple[UUID, str], UUID]:
    async with app.state.sessions() as s:
        rows = await s.execute(
            select(
                col(CycleEntitlement.household_id), col(CycleEntitlement.holder_key), col(CycleEntitlement.id)
            ).where(col(CycleEntitlement.cycle_id) == UUID(cycle_id))
        )
        return {(household, key): entitlement for household, key, entitlement in rows.all()}
