"""The money rules on real PostgreSQL: the unit tier's flows again, and the races they must survive: two payments
by hand of a one-off programme at once, a payment by hand racing an approval, a new standard racing an approval."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from tests.unit import test_subsidies_money_rules as flows
from tests.unit.test_subsidies_money_rules import (
    CASHIER,
    CLERK,
    DIBAO_RULE,
    DIRECTOR,
    RENOVATION,
    by_hand,
    computed,
    fund,
    household,
    on_dibao,
    service,
)

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]
Scenario = Callable[[Any], Awaitable[None]]


@pytest.fixture
async def api(pg_database: MakeDb) -> AsyncIterator[Any]:
    async with service(await pg_database("subsidies")) as running:
        yield running


@pytest.mark.parametrize(
    "scenario",
    [
        flows.test_a_one_off_programme_lists_and_pays_a_holder_once,
        flows.test_two_lists_computed_before_either_is_approved_pay_the_holder_once,
        flows.test_temporary_assistance_is_paid_once_a_year,
        flows.test_a_death_reported_after_approval_gets_no_bank_line,
        flows.test_a_batch_withdraws_who_is_no_longer_entitled_and_pays_a_smaller_household_less,
        flows.test_a_follow_up_batch_judges_again_too,
        flows.test_leaving_without_policies_ends_the_entitlement_as_death_does_whatever_the_rule,
        flows.test_money_paid_by_hand_counts_against_the_programmes_funds,
        flows.test_a_holder_paid_by_hand_before_approval_leaves_the_list_and_counts_once_against_the_funds,
        flows.test_a_new_standard_is_not_back_dated_behind_an_approved_cycle,
        flows.test_bank_lines_of_every_cycle_are_listed_by_status_programme_period_and_area,
        flows.test_batches_of_every_cycle_are_listed_newest_first_by_programme_period_and_status,
    ],
    ids=lambda scenario: scenario.__name__.removeprefix("test_"),
)
async def test_the_flows_hold_on_postgres(api: Any, scenario: Scenario) -> None:
    await scenario(api)


async def _appraised(app: Any, house: UUID) -> None:
    await household(app, house, UUID(int=house.int * 10))
    await flows._house_appraised(app, house)


async def test_two_one_off_payments_by_hand_at_once_pay_once(api: Any) -> None:
    app, client, _ = api
    house = UUID(int=1)
    await _appraised(app, house)
    answers = await asyncio.gather(
        *(by_hand(client, house, RENOVATION, period, 1_400_000) for period in ("2020-04", "2020-05", "2020-06"))
    )
    assert sorted(r.status_code for r in answers) == [201, 409, 409]
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"one_off_paid"}


async def test_a_one_off_payment_by_hand_racing_an_approval_pays_once(api: Any) -> None:
    app, client, clock = api
    house = UUID(int=1)
    await _appraised(app, house)
    await fund(client, RENOVATION, 2020, 10_000_000)
    cycle = await computed(client, RENOVATION, "2020-06")
    window = {"starts_on": "2020-06-02", "ends_on": "2020-06-08"}
    assert (await client.post(f"/v1/cycles/{cycle['id']}/notice", json=window, headers=CLERK)).status_code == 200
    clock.on(date(2020, 6, 9))
    assert (await client.post(f"/v1/cycles/{cycle['id']}/submit", headers=CASHIER)).status_code == 200

    approval, payment = await asyncio.gather(
        client.post(f"/v1/cycles/{cycle['id']}/approve", headers=DIRECTOR),
        by_hand(client, house, RENOVATION, "2020-05", 1_400_000),
    )
    assert approval.status_code == 200, approval.text
    granted = approval.json()["entitled_count"] + (payment.status_code == 201)
    assert granted == 1, (approval.json(), payment.text)


async def test_a_standard_racing_an_approval_never_lands_behind_it(api: Any) -> None:
    app, client, clock = api
    await on_dibao(app, UUID(int=1), UUID(int=10))
    await fund(client, "dibao", 2020, 1_000_000)
    cycle = await computed(client, "dibao", "2020-06")
    window = {"starts_on": "2020-06-02", "ends_on": "2020-06-08"}
    assert (await client.post(f"/v1/cycles/{cycle['id']}/notice", json=window, headers=CLERK)).status_code == 200
    clock.on(date(2020, 6, 9))
    assert (await client.post(f"/v1/cycles/{cycle['id']}/submit", headers=CASHIER)).status_code == 200
    standard = {
        "effective_from": "2020-06-01",
        "amount_fen": 27_000,
        "per_member": True,
        "rule": DIBAO_RULE,
        "reason": "standard raised",
    }

    approval, version = await asyncio.gather(
        client.post(f"/v1/cycles/{cycle['id']}/approve", headers=DIRECTOR),
        client.post("/v1/programmes/dibao/versions", json=standard, headers=DIRECTOR),
    )
    assert approval.status_code == 200, approval.text
    if version.status_code == 201:  # first: the approval judged by it
        assert (approval.json()["version_id"], approval.json()["total_fen"]) == (version.json()["id"], 27_000)
    else:  # second: refused, naming the cycle
        assert version.status_code == 422 and version.json()["cycle_id"] == cycle["id"], version.text
        assert approval.json()["total_fen"] == flows.DIBAO_FEN
