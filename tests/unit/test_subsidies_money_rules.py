"""The rules that keep money from going where it should not, on a migrated SQLite file: a one-off programme pays a
holder once; a batch judges each entitlement again before its bank line; money paid by hand is spent from the
programme's funds; a new standard is never back-dated behind an approved cycle; batches and bank lines are listed
across cycles, every area filter named `area_code`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy import select, update
from sqlmodel import col

from services.subsidies.models import BatchLine
from shared.api.clock import request_time
from shared.contracts.households import (
    HouseholdRegistered,
    HouseholdStatusChanged,
    HousingAppraised,
    MemberAdded,
    MemberDied,
    MemberDisabilityRecorded,
    MinimumAllowanceChanged,
    MonitoringEpisodeOpened,
)
from shared.messaging.outbox import OutboxMessage
from tests.support import apply_event, assert_problem, auth, running_app

VILLAGE, OTHER_VILLAGE, FAR_VILLAGE = "371523101201", "371523101202", "371523105203"
CLERK = auth("finance_officer", sub="clerk")
CASHIER = auth("finance_officer", sub="cashier")
DIRECTOR = auth("district_office", sub="director")
AUDITOR = auth("auditor", sub="auditor-1")
RENOVATION, TEMPORARY, DISABILITY = "dangerous_house_renovation", "temporary_assistance", "disability_living_subsidy"
DIBAO_FEN = 25_800  # a living member a month
DIBAO_RULE = [
    {"fact": "household.allowance", "op": "eq", "value": "dibao"},
    {"fact": "household.status", "op": "ne", "value": "exited_no_policies"},
]
LONG_AGO = date(2019, 1, 1)


class Clock:
    def __init__(self) -> None:
        self.on(date(2020, 6, 2))

    def on(self, day: date) -> None:
        self.now = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)

    @property
    def today(self) -> date:
        return self.now.date()


@asynccontextmanager
async def service(url: str) -> AsyncIterator[tuple[FastAPI, AsyncClient, Clock]]:
    """The service on a migrated database (the report's catalogue seeded), its clock on 2 June 2020."""
    clock = Clock()
    async with running_app("subsidies", url) as (app, client):
        app.dependency_overrides[request_time] = lambda: clock.now
        yield app, client, clock


@pytest.fixture
async def api(sqlite_url: Any) -> AsyncIterator[tuple[FastAPI, AsyncClient, Clock]]:
    async with service(await sqlite_url("subsidies")) as running:
        yield running


# --- Facts, funds and steps ---------------------------------------------------------------------------------------


async def household(app: FastAPI, household_id: UUID, *members: UUID, area: str = VILLAGE) -> None:
    """A registered household with these members (its head first), all born in 1950."""
    registered = HouseholdRegistered(
        household_id=household_id, household_code=f"CP-{household_id.int}", area_code=area, member_count=len(members)
    )
    await apply_event(app, registered)
    for n, member in enumerate(members):
        added = MemberAdded(
            household_id=household_id, member_id=member, relationship_to_head="head" if n == 0 else "spouse",
            birth_date=date(1950, 1, 1), name_masked="张*三", id_masked=f"3715**********{member.int % 10_000:04d}",
        )  # fmt: skip
        await apply_event(app, added)


async def allowance(app: FastAPI, household_id: UUID, status: str, since: date = LONG_AGO) -> None:
    await apply_event(app, MinimumAllowanceChanged(household_id=household_id, status=status, effective_on=since))


async def on_dibao(app: FastAPI, household_id: UUID, *members: UUID, area: str = VILLAGE) -> None:
    await household(app, household_id, *members, area=area)
    await allowance(app, household_id, "dibao")


async def died(app: FastAPI, household_id: UUID, member: UUID, on: date) -> None:
    await apply_event(app, MemberDied(household_id=household_id, member_id=member, died_on=on))


async def fund(client: AsyncClient, code: str, year: int, fen: int) -> None:
    body = {"year": year, "amount_fen": fen, "source": "区财政局 2020-1号"}
    r = await client.post(f"/v1/programmes/{code}/funds", json=body, headers=DIRECTOR)
    assert r.status_code == 201, r.text


async def computed(client: AsyncClient, code: str, period: str) -> dict[str, Any]:
    r = await client.post("/v1/cycles", json={"programme_code": code, "period": period}, headers=CLERK)
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/cycles/{r.json()['id']}/compute", headers=CLERK)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def approval(client: AsyncClient, clock: Clock, cycle: dict[str, Any]) -> Response:
    """Post the list from today for a week, submit it the day after, and ask the director to approve it."""
    start = clock.today
    window = {"starts_on": start.isoformat(), "ends_on": (start + timedelta(days=6)).isoformat()}
    r = await client.post(f"/v1/cycles/{cycle['id']}/notice", json=window, headers=CLERK)
    assert r.status_code == 200, r.text
    clock.on(start + timedelta(days=7))
    r = await client.post(f"/v1/cycles/{cycle['id']}/submit", headers=CASHIER)
    assert r.status_code == 200, r.text
    return await client.post(f"/v1/cycles/{cycle['id']}/approve", headers=DIRECTOR)


async def approved(client: AsyncClient, clock: Clock, code: str, period: str) -> dict[str, Any]:
    r = await approval(client, clock, await computed(client, code, period))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def by_hand(client: AsyncClient, household_id: UUID, code: str, period: str, fen: int) -> Response:
    body = {"household_id": str(household_id), "policy_code": code, "period": period, "amount_fen": fen}
    return await client.post("/v1/payments", json=body, headers={**CLERK, "Idempotency-Key": str(uuid4())})


async def payee(client: AsyncClient, household_id: UUID, n: int) -> None:
    body = {"bank_code": "RCC3715", "account_no": f"62170000{n:011d}", "holder_name": "张三"}
    r = await client.post(f"/v1/households/{household_id}/payees", json=body, headers=CLERK)
    assert r.status_code == 201, r.text


async def build(client: AsyncClient, cycle_id: str) -> Response:
    return await client.post(f"/v1/cycles/{cycle_id}/batches", headers=CLERK)


async def entitlements(client: AsyncClient, cycle_id: str) -> dict[tuple[int, str | None], dict[str, Any]]:
    """The cycle's entitlements by (household number, member id)."""
    r = await client.get(f"/v1/cycles/{cycle_id}/entitlements", params={"limit": 500}, headers=AUDITOR)
    assert r.status_code == 200, r.text
    return {(UUID(e["household_id"]).int, e["member_id"]): e for e in r.json()["items"]}


async def lines(client: AsyncClient, **params: Any) -> list[dict[str, Any]]:
    r = await client.get("/v1/batch-lines", params={"limit": 500, **params}, headers=AUDITOR)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def settle(app: FastAPI, line_id: str, status: str, reason: str | None = None) -> None:
    """What reconciling the bank's answer does to a line."""
    async with app.state.sessions() as s, s.begin():
        stmt = update(BatchLine).where(col(BatchLine.id) == UUID(line_id)).values(status=status, bank_reason=reason)
        await s.execute(stmt)


def error_codes(response: Response) -> list[str]:
    return [e["code"] for e in response.json().get("errors") or []]


# --- A one-off programme pays a holder once -------------------------------------------------------------------------


async def _house_appraised(app: FastAPI, household_id: UUID, grade: str = "D") -> None:
    appraised = HousingAppraised(
        household_id=household_id, appraisal_id=uuid4(), area_code=VILLAGE, grade=grade,
        appraised_on=date(2019, 12, 1), renovation_due=None,
    )  # fmt: skip
    await apply_event(app, appraised)


async def test_a_one_off_programme_lists_and_pays_a_holder_once(api: Any) -> None:
    app, client, clock = api
    house, other = UUID(int=1), UUID(int=2)
    for h in (house, other):
        await household(app, h, UUID(int=h.int * 10))
        await _house_appraised(app, h)
    await fund(client, RENOVATION, 2020, 10_000_000)
    june = await approved(client, clock, RENOVATION, "2020-06")
    assert (june["entitled_count"], june["total_fen"]) == (2, 2 * 1_400_000)

    clock.on(date(2020, 7, 2))
    july = await computed(client, RENOVATION, "2020-07")  # both already have it: June's cycle is approved
    assert (july["entitled_count"], july["total_fen"]) == (0, 0)
    clock.on(date(2021, 3, 2))
    assert (await computed(client, RENOVATION, "2021-03"))["entitled_count"] == 0  # once ever, not once a year
    refused = await by_hand(client, house, RENOVATION, "2021-03", 1_400_000)
    assert assert_problem(refused, 409)["code"] == "one_off_paid"
    assert "2020-06" in refused.json()["detail"]
    r = await client.get(f"/v1/programmes/{RENOVATION}/funds", params={"year": 2020}, headers=AUDITOR)
    assert r.json()["committed_fen"] == 2 * 1_400_000


async def test_two_lists_computed_before_either_is_approved_pay_the_holder_once(api: Any) -> None:
    app, client, clock = api
    house = UUID(int=1)
    await household(app, house, UUID(int=10))
    await _house_appraised(app, house)
    await fund(client, RENOVATION, 2020, 10_000_000)
    clock.on(date(2020, 7, 2))
    june, july = await computed(client, RENOVATION, "2020-06"), await computed(client, RENOVATION, "2020-07")
    assert june["entitled_count"] == july["entitled_count"] == 1  # nothing is committed before an approval
    assert (await approval(client, clock, june)).status_code == 200
    clock.on(date(2020, 7, 2))
    second = await approval(client, clock, july)
    assert second.status_code == 200, second.text
    assert (second.json()["entitled_count"], second.json()["withdrawn_count"]) == (0, 1)
    [withdrawn] = (await entitlements(client, july["id"])).values()
    assert withdrawn["status"] == "withdrawn"
    assert (
        withdrawn["withdrawn_reason"]
        == "a one-off programme pays a holder once: listed in its cycle of 2020-06 (approved)"
    )


async def test_temporary_assistance_is_paid_once_a_year(api: Any) -> None:
    app, client, clock = api
    paid, never = UUID(int=1), UUID(int=2)
    for h in (paid, never):
        await household(app, h, UUID(int=h.int * 10))
        opened = MonitoringEpisodeOpened(household_id=h, episode_id=uuid4(), area_code=VILLAGE, opened_on=LONG_AGO)
        await apply_event(app, opened)
    assert (await by_hand(client, paid, TEMPORARY, "2020-03", 100_000)).status_code == 201
    again = await by_hand(client, paid, TEMPORARY, "2020-05", 100_000)
    assert assert_problem(again, 409)["code"] == "one_off_paid"
    assert "once a year" in again.json()["detail"]
    june = await entitlements(client, (await computed(client, TEMPORARY, "2020-06"))["id"])
    assert list(june) == [(2, None)]  # the household paid by hand in March is left out, the other one listed

    clock.on(date(2021, 2, 2))
    assert (await by_hand(client, paid, TEMPORARY, "2021-02", 100_000)).status_code == 201  # a new year


async def test_a_one_off_payment_taken_back_no_longer_counts(api: Any) -> None:
    app, client, _ = api
    house = UUID(int=1)
    await household(app, house, UUID(int=10))
    first = await by_hand(client, house, RENOVATION, "2020-05", 1_400_000)
    assert first.status_code == 201, first.text
    recovery = {"kind": "recovery", "reason": "重复申报, 款项已追回", "amount_fen": 1_400_000}
    r = await client.post(f"/v1/payments/{first.json()['id']}/corrections", json=recovery, headers=CLERK)
    assert r.status_code == 201, r.text
    assert (await by_hand(client, house, RENOVATION, "2020-06", 1_400_000)).status_code == 201


async def test_a_retried_one_off_payment_answers_the_payment_it_made(api: Any) -> None:
    app, client, _ = api
    house = UUID(int=1)
    await household(app, house, UUID(int=10))
    body = {"household_id": str(house), "policy_code": RENOVATION, "period": "2020-05", "amount_fen": 1_400_000}
    headers = {**CLERK, "Idempotency-Key": "renovation-1"}
    first = await client.post("/v1/payments", json=body, headers=headers)
    retried = await client.post("/v1/payments", json=body, headers=headers)
    assert (first.status_code, retried.status_code) == (201, 200)
    assert retried.json()["id"] == first.json()["id"]


async def test_a_monthly_programme_pays_every_month(api: Any) -> None:
    app, client, clock = api
    await on_dibao(app, UUID(int=1), UUID(int=10))
    await fund(client, "dibao", 2020, 1_000_000)
    await approved(client, clock, "dibao", "2020-06")
    clock.on(date(2020, 7, 2))
    assert (await computed(client, "dibao", "2020-07"))["entitled_count"] == 1
    assert (await by_hand(client, UUID(int=1), "dibao", "2020-05", DIBAO_FEN)).status_code == 201


# --- A batch judges each entitlement again ------------------------------------------------------------------------


async def test_a_death_reported_after_approval_gets_no_bank_line(api: Any) -> None:
    app, client, clock = api
    house, head = UUID(int=1), UUID(int=11)
    await household(app, house, head)
    certified = MemberDisabilityRecorded(
        household_id=house, member_id=head, disability_type="physical", grade=2, certified_on=date(2018, 1, 1)
    )
    await apply_event(app, certified)
    await fund(client, DISABILITY, 2020, 1_000_000)
    cycle = await approved(client, clock, DISABILITY, "2020-06")
    assert cycle["entitled_count"] == 1
    await died(app, house, head, date(2020, 5, 10))  # before the period began, reported after the approval
    await payee(client, house, 1)

    refused = await build(client, cycle["id"])
    problem = assert_problem(refused, 422)
    assert error_codes(refused) == ["nothing_to_pay"]
    assert (problem["no_longer_entitled_count"], problem["awaiting_count"]) == (1, 0)
    assert await lines(client) == []


async def test_a_batch_withdraws_who_is_no_longer_entitled_and_pays_a_smaller_household_less(api: Any) -> None:
    app, client, clock = api
    ended, exited, smaller, stays = (UUID(int=n) for n in (1, 2, 3, 4))
    await on_dibao(app, ended, UUID(int=10))
    await on_dibao(app, exited, UUID(int=20))
    await on_dibao(app, smaller, UUID(int=30), UUID(int=31))
    await on_dibao(app, stays, UUID(int=40))
    await fund(client, "dibao", 2020, 1_000_000)
    cycle = await approved(client, clock, "dibao", "2020-06")
    assert (cycle["entitled_count"], cycle["total_fen"]) == (4, 5 * DIBAO_FEN)
    # Reported after the approval, each true before the period began.
    await allowance(app, ended, "none", date(2020, 5, 20))
    left = HouseholdStatusChanged(
        household_id=exited, area_code=VILLAGE, from_status="in_poverty", to_status="exited_no_policies",
        reason="officer_decision", effective_on=date(2020, 5, 25), changed_by="township",
    )  # fmt: skip
    await apply_event(app, left)
    await died(app, smaller, UUID(int=31), date(2020, 5, 10))
    for n, h in enumerate((ended, exited, smaller, stays), 1):
        await payee(client, h, n)

    r = await build(client, cycle["id"])
    assert r.status_code == 201, r.text
    batch = r.json()
    assert (batch["line_count"], batch["total_fen"]) == (2, 2 * DIBAO_FEN)
    assert (batch["withdrawn_count"], batch["amended_count"], batch["awaiting_count"]) == (2, 1, 0)
    paid = {UUID(line["household_id"]).int: line["amount_fen"] for line in await lines(client)}
    assert paid == {3: DIBAO_FEN, 4: DIBAO_FEN}
    listed = await entitlements(client, cycle["id"])
    assert [listed[(n, None)]["status"] for n in (1, 2, 3, 4)] == ["withdrawn", "withdrawn", "listed", "listed"]
    when = "no longer entitled when re-checked before its bank line was built: "
    assert listed[(1, None)]["withdrawn_reason"].startswith(when + "household.allowance")
    assert listed[(2, None)]["withdrawn_reason"].startswith(when + "household.status")
    assert listed[(3, None)]["amount_fen"] == DIBAO_FEN
    now = (await client.get(f"/v1/cycles/{cycle['id']}", headers=AUDITOR)).json()
    assert (now["entitled_count"], now["total_fen"]) == (2, 2 * DIBAO_FEN)  # the funds committed shrink with it


async def test_a_follow_up_batch_judges_again_too(api: Any) -> None:
    app, client, clock = api
    ended, corrected = UUID(int=1), UUID(int=2)
    await on_dibao(app, ended, UUID(int=10))
    await on_dibao(app, corrected, UUID(int=20))
    await fund(client, "dibao", 2020, 1_000_000)
    cycle = await approved(client, clock, "dibao", "2020-06")
    await payee(client, ended, 1)
    await payee(client, corrected, 2)
    assert (await build(client, cycle["id"])).json()["line_count"] == 2
    for line in await lines(client):
        await settle(app, line["id"], "failed", "account_closed")
    await payee(client, ended, 3)
    await payee(client, corrected, 4)  # both accounts corrected; then 低保 found ended before June for one
    await allowance(app, ended, "none", date(2020, 5, 31))

    follow_up = await build(client, cycle["id"])
    assert follow_up.status_code == 201, follow_up.text
    batch = follow_up.json()
    assert (batch["sequence"], batch["line_count"], batch["withdrawn_count"]) == (2, 1, 1)
    [line] = await lines(client, status="pending")
    assert UUID(line["household_id"]) == corrected


# --- Leaving without policies ends every entitlement, whatever the rule ----------------------------------------


async def exits_without_policies(app: FastAPI, household_id: UUID, on: date) -> None:
    left = HouseholdStatusChanged(
        household_id=household_id, area_code=VILLAGE, from_status="in_poverty", to_status="exited_no_policies",
        reason="officer_decision", effective_on=on, changed_by="township",
    )  # fmt: skip
    await apply_event(app, left)


async def test_leaving_without_policies_ends_the_entitlement_as_death_does_whatever_the_rule(api: Any) -> None:
    """A standard whose rule says nothing of the household's status: the engine asks it, so the list, the
    explanation, the approval's re-check, coverage and leakage agree (脱贫不享受政策)."""
    app, client, clock = api
    before, during_notice, stays = UUID(int=1), UUID(int=2), UUID(int=3)
    for n, h in enumerate((before, during_notice, stays), 1):
        await on_dibao(app, h, UUID(int=10 * n))
    await fund(client, "dibao", 2020, 1_000_000)
    await exits_without_policies(app, before, date(2020, 6, 10))
    standard = {**_standard("2020-07-01"), "amount_fen": DIBAO_FEN, "rule": DIBAO_RULE[:1]}  # allowance only
    r = await client.post("/v1/programmes/dibao/versions", json=standard, headers=DIRECTOR)
    assert r.status_code == 201, r.text
    clock.on(date(2020, 7, 2))

    july = await computed(client, "dibao", "2020-07")

    assert (july["entitled_count"], july["total_fen"]) == (2, 2 * DIBAO_FEN)
    params = {"programme": "dibao", "period": "2020-07"}
    explained = await client.get(f"/v1/households/{before}/eligibility", params=params, headers=AUDITOR)
    assert explained.status_code == 200, explained.text
    [holder] = explained.json()["holders"]
    assert not holder["entitled"] and holder["in_cycle"]["status"] == "not_listed"
    assert [(c["fact"], c["holds"]) for c in holder["checks"]] == [
        ("household.member_count", True),
        ("household.status", False),
        ("household.allowance", True),
    ]
    await exits_without_policies(app, during_notice, date(2020, 6, 20))  # reported while the list is on notice
    approving = await approval(client, clock, july)
    assert approving.status_code == 200, approving.text
    assert (approving.json()["withdrawn_count"], approving.json()["total_fen"]) == (1, DIBAO_FEN)
    assert (await entitlements(client, july["id"]))[(2, None)]["withdrawn_reason"] == (
        "no longer entitled when re-checked at approval: "
        "household.status is exited_no_policies (must not be exited_no_policies): not met"
    )
    assert (await by_hand(client, before, "dibao", "2020-07", DIBAO_FEN)).status_code == 201
    body = {"policy_code": "dibao", "period": "2020-07"}
    coverage = await client.post("/v1/coverage-checks", json=body, headers=CLERK)
    assert (coverage.json()["entitled_count"], coverage.json()["gap_count"]) == (1, 1)  # the household that stays
    leakage = await client.post("/v1/leakage-checks", json=body, headers=AUDITOR)
    leaks = await client.get(f"/v1/leakage-checks/{leakage.json()['id']}/leaks", headers=AUDITOR)
    assert [(leak["household_id"], leak["kind"]) for leak in leaks.json()["items"]] == [
        (str(before), "paid_after_exit")
    ]


# --- Money paid by hand is spent from the funds -------------------------------------------------------------------


async def test_money_paid_by_hand_counts_against_the_programmes_funds(api: Any) -> None:
    app, client, clock = api
    for n in (1, 2, 3):
        await on_dibao(app, UUID(int=n), UUID(int=n * 10))
    await fund(client, "dibao", 2020, 3 * DIBAO_FEN)
    hand = await by_hand(client, UUID(int=1), "dibao", "2020-04", DIBAO_FEN)
    assert hand.status_code == 201, hand.text
    r = await client.get("/v1/programmes/dibao/funds", params={"year": 2020}, headers=AUDITOR)
    assert r.json() == {
        "programme_code": "dibao",
        "year": 2020,
        "allocated_fen": 3 * DIBAO_FEN,
        "committed_fen": DIBAO_FEN,
        "by_hand_fen": DIBAO_FEN,
        "available_fen": 2 * DIBAO_FEN,
    }
    june = await computed(client, "dibao", "2020-06")
    over = await approval(client, clock, june)
    assert error_codes(over) == ["insufficient_funds"]
    assert (over.json()["total_fen"], over.json()["available_fen"]) == (3 * DIBAO_FEN, 2 * DIBAO_FEN)

    recovery = {"kind": "recovery", "reason": "重复发放, 已追回", "amount_fen": DIBAO_FEN}
    r = await client.post(f"/v1/payments/{hand.json()['id']}/corrections", json=recovery, headers=CLERK)
    assert r.status_code == 201, r.text
    r = await client.get("/v1/programmes/dibao/funds", params={"year": 2020}, headers=AUDITOR)
    assert (r.json()["by_hand_fen"], r.json()["available_fen"]) == (0, 3 * DIBAO_FEN)
    approving = await client.post(f"/v1/cycles/{june['id']}/approve", headers=DIRECTOR)
    assert approving.status_code == 200, approving.text
    await payee(client, UUID(int=1), 1)
    await build(client, june["id"])  # the cycle's own lines and payments are in its total, never counted again

    clock.on(date(2021, 1, 5))
    assert (await by_hand(client, UUID(int=2), "dibao", "2021-01", DIBAO_FEN)).status_code == 201  # 2021's money
    r = await client.get("/v1/programmes/dibao/funds", params={"year": 2020}, headers=AUDITOR)
    assert (r.json()["committed_fen"], r.json()["by_hand_fen"], r.json()["available_fen"]) == (3 * DIBAO_FEN, 0, 0)


async def test_a_holder_paid_by_hand_before_approval_leaves_the_list_and_counts_once_against_the_funds(
    api: Any,
) -> None:
    app, client, clock = api
    hand_paid, other = UUID(int=1), UUID(int=2)
    await on_dibao(app, hand_paid, UUID(int=10))
    await on_dibao(app, other, UUID(int=20))
    await fund(client, "dibao", 2020, 2 * DIBAO_FEN)  # exactly June for both households
    hand = await by_hand(client, hand_paid, "dibao", "2020-06", DIBAO_FEN)
    assert hand.status_code == 201, hand.text
    june = await computed(client, "dibao", "2020-06")
    assert (june["entitled_count"], june["total_fen"]) == (2, 2 * DIBAO_FEN)  # a list merely computed commits nothing

    approving = await approval(client, clock, june)

    assert approving.status_code == 200, approving.text
    cycle = approving.json()
    assert (cycle["entitled_count"], cycle["total_fen"], cycle["withdrawn_count"]) == (1, DIBAO_FEN, 1)
    withdrawn = (await entitlements(client, june["id"]))[(1, None)]
    reason = f"paid by hand: payment {hand.json()['id']}"
    assert (withdrawn["status"], withdrawn["withdrawn_reason"]) == ("withdrawn", reason)
    async with app.state.sessions() as s:
        messages = (await s.scalars(select(OutboxMessage))).all()
    [event] = [json.loads(m.payload) for m in messages if m.event_type.endswith(".cycle_approved.v1")]
    assert (event["entitled_count"], event["total_fen"]) == (1, DIBAO_FEN)
    funds = (await client.get("/v1/programmes/dibao/funds", params={"year": 2020}, headers=AUDITOR)).json()
    assert (funds["committed_fen"], funds["by_hand_fen"], funds["available_fen"]) == (2 * DIBAO_FEN, DIBAO_FEN, 0)
    await payee(client, hand_paid, 1)
    await payee(client, other, 2)
    batch = await build(client, june["id"])
    assert (batch.json()["line_count"], batch.json()["total_fen"]) == (1, DIBAO_FEN)
    assert [UUID(line["household_id"]) for line in await lines(client)] == [other]


# --- A standard is never back-dated behind an approved cycle ---------------------------------------------------


def _standard(effective_from: str) -> dict[str, Any]:
    return {
        "effective_from": effective_from,
        "amount_fen": 27_000,
        "per_member": True,
        "rule": DIBAO_RULE,
        "reason": "standard raised",
    }


async def test_a_new_standard_is_not_back_dated_behind_an_approved_cycle(api: Any) -> None:
    app, client, clock = api
    await on_dibao(app, UUID(int=1), UUID(int=10))
    await fund(client, "dibao", 2020, 1_000_000)
    clock.on(date(2020, 5, 2))
    may = await approved(client, clock, "dibao", "2020-05")
    clock.on(date(2020, 6, 2))
    june = await computed(client, "dibao", "2020-06")  # computed, not approved: it takes the standard in force
    for day in ("2020-03-01", "2020-05-01"):
        r = await client.post("/v1/programmes/dibao/versions", json=_standard(day), headers=DIRECTOR)
        problem = assert_problem(r, 422)
        assert error_codes(r) == ["cycle_already_approved"] and problem["cycle_id"] == may["id"]
        assert may["id"] in problem["errors"][0]["message"] and "2020-05" in problem["detail"]
    versions = (await client.get("/v1/programmes/dibao/versions", headers=AUDITOR)).json()["items"]
    assert [v["version"] for v in versions] == [1]

    r = await client.post("/v1/programmes/dibao/versions", json=_standard("2020-05-02"), headers=DIRECTOR)
    assert r.status_code == 201, r.text
    again = (await client.post(f"/v1/cycles/{june['id']}/compute", headers=CLERK)).json()
    assert (again["version_id"], again["total_fen"]) == (r.json()["id"], 27_000)
    reread = (await client.get(f"/v1/cycles/{may['id']}", headers=AUDITOR)).json()
    assert (reread["version_id"], reread["total_fen"]) == (may["version_id"], DIBAO_FEN)


# --- Lists across cycles --------------------------------------------------------------------------------------------


async def two_months_of_batches(app: FastAPI, client: AsyncClient, clock: Clock) -> dict[str, Any]:
    """May's and June's 低保 cycles, each with its batch for households 1 (a village), 2 (another village of the
    township) and 3 (another township); in June household 1's and 3's lines failed."""
    for n, area in ((1, VILLAGE), (2, OTHER_VILLAGE), (3, FAR_VILLAGE)):
        await on_dibao(app, UUID(int=n), UUID(int=n * 10), area=area)
        await payee(client, UUID(int=n), n)
    await fund(client, "dibao", 2020, 1_000_000)
    batches = {}
    for period, day in (("2020-05", date(2020, 5, 2)), ("2020-06", date(2020, 6, 2))):
        clock.on(day)
        cycle = await approved(client, clock, "dibao", period)
        r = await build(client, cycle["id"])
        assert r.status_code == 201, r.text
        batches[period] = r.json()
    for line in await lines(client, period="2020-06"):
        if UUID(line["household_id"]).int in (1, 3):
            await settle(app, line["id"], "failed", "account_closed")
    return batches


async def test_bank_lines_of_every_cycle_are_listed_by_status_programme_period_and_area(api: Any) -> None:
    app, client, clock = api
    batches = await two_months_of_batches(app, client, clock)

    failed = await lines(client, status="failed", period="2020-06")
    assert sorted(UUID(x["household_id"]).int for x in failed) == [1, 3]
    one = failed[0]
    assert (one["programme_code"], one["period"], one["batch_id"]) == ("dibao", "2020-06", batches["2020-06"]["id"])
    assert one["payee"]["account_masked"].count("*") >= 4 and "account_no" not in one["payee"]
    assert one["bank_reason"] == "account_closed" and one["cycle_id"] == batches["2020-06"]["cycle_id"]
    assert [UUID(x["household_id"]).int for x in await lines(client, status="failed", area_code="371523101")] == [1]
    assert len(await lines(client, programme_code="dibao")) == 6
    assert len(await lines(client, status="pending")) == 4
    assert await lines(client, programme_code="extreme_poverty_support") == []
    assert len(await lines(client, area_code=FAR_VILLAGE)) == 2

    seen, cursor = [], None
    while True:
        params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/batch-lines", params=params, headers=CLERK)).json()
        seen += [x["id"] for x in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert len(seen) == len(set(seen)) == 6


async def test_batches_of_every_cycle_are_listed_newest_first_by_programme_period_and_status(api: Any) -> None:
    app, client, clock = api
    batches = await two_months_of_batches(app, client, clock)

    async def listed(**params: Any) -> list[str]:
        r = await client.get("/v1/batches", params=params, headers=auth("discipline_commission"))
        assert r.status_code == 200, r.text
        return [b["id"] for b in r.json()["items"]]

    assert await listed() == [batches["2020-06"]["id"], batches["2020-05"]["id"]]
    assert await listed(period="2020-05") == [batches["2020-05"]["id"]]
    assert await listed(programme_code="dibao", status="built") == [batches["2020-06"]["id"], batches["2020-05"]["id"]]
    assert await listed(status="exported") == []
    assert await listed(programme_code="medical_aid") == []
    first = (await client.get("/v1/batches", params={"limit": 1}, headers=AUDITOR)).json()
    assert (first["items"][0]["programme_code"], first["items"][0]["period"]) == ("dibao", "2020-06")
    rest = (await client.get("/v1/batches", params={"cursor": first["next_cursor"]}, headers=AUDITOR)).json()
    assert [b["id"] for b in rest["items"]] == [batches["2020-05"]["id"]] and rest["next_cursor"] is None


@pytest.mark.parametrize("path", ["/v1/batches", "/v1/batch-lines"])
async def test_lists_across_cycles_are_for_the_finance_office_and_readers(api: Any, path: str) -> None:
    _, client, _ = api
    for role in ("finance_officer", "district_office", "auditor", "discipline_commission"):
        assert (await client.get(path, headers=auth(role))).status_code == 200
    for role in ("township_office", "village_cadre", "inspector"):
        assert_problem(await client.get(path, headers=auth(role, area="371523101")), 403)
    assert_problem(await client.get(path, params={"period": "2020-13"}, headers=AUDITOR), 422)


async def test_every_area_filter_of_subsidies_is_named_area_code(api: Any) -> None:
    app, _, _ = api
    for path, operations in app.openapi()["paths"].items():
        for operation in operations.values():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            assert "area" not in names, path
