"""Cycles on a migrated SQLite file: the list computed with snapshots, the public notice and its objections,
submission, approval by someone else after a re-check and within the funds, paid and closed."""

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
from sqlalchemy import delete, func, select
from sqlmodel import col

from services.subsidies.domain.cycles import mark_paid_if_settled
from services.subsidies.models import (
    BatchLine,
    Cycle,
    CycleEntitlement,
    DisbursementBatch,
    Objection,
    Programme,
    ProgrammeFund,
    ProgrammeVersion,
)
from shared.api.clock import request_time
from shared.contracts.households import HouseholdRegistered, MemberAdded, MemberDied, MinimumAllowanceChanged
from shared.messaging.outbox import OutboxMessage
from tests.support import apply_event, assert_problem, auth, running_app

TOWNSHIP, OTHER_TOWNSHIP = "371523101", "371523105"
VILLAGE_1, VILLAGE_2, FAR_VILLAGE = f"{TOWNSHIP}201", f"{TOWNSHIP}202", f"{OTHER_TOWNSHIP}203"
A, B, C, FAR = (UUID(int=n) for n in (1, 2, 3, 4))
HEAD_A, HEAD_B, CHILD_B = (UUID(int=n) for n in (11, 12, 13))
# 价格临时补贴: paid to 低保 households; a household programme the catalogue's seed leaves out, set up here.
PRICE = "temporary_price_subsidy"
# 就业补贴 as a member programme: every working-age member, for a notice that names members.
JOBS = "employment_subsidy"
FLAT_FEN = 5_000
CLERK = auth("finance_officer", sub="clerk")
CASHIER = auth("finance_officer", sub="cashier")
DIRECTOR = auth("district_office", sub="director")
AUDITOR = auth("auditor", sub="auditor-1")
JUNE_2 = datetime(2020, 6, 2, 2, tzinfo=UTC)  # 10:00 in the district
DIBAO_RULE = [
    {"fact": "household.allowance", "op": "eq", "value": "dibao"},
    {"fact": "household.status", "op": "ne", "value": "exited_no_policies"},
]


class Clock:
    def __init__(self) -> None:
        self.now = JUNE_2

    def on(self, day: date) -> None:
        self.now = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)


async def _programme(
    app: FastAPI, code: str, *, unit: str, rule: list[dict[str, Any]], amount_fen: int, per_member: bool, fund: int
) -> None:
    """The programme with one standard from 2020 (the seed's own, if any, gives way) and the year's funds."""
    at = datetime(2020, 1, 1, tzinfo=UTC)
    async with app.state.sessions() as s, s.begin():
        await s.execute(delete(ProgrammeVersion).where(col(ProgrammeVersion.programme_code) == code))
        await s.execute(delete(ProgrammeFund).where(col(ProgrammeFund.programme_code) == code))
        if await s.get(Programme, code) is None:
            source = "区级专项扶贫资金"
            s.add(
                Programme(
                    code=code,
                    name=code,
                    unit=unit,
                    frequency="monthly",
                    funding_source=source,
                    created_by="test",
                    created_at=at,
                )
            )
        s.add(
            ProgrammeVersion(
                programme_code=code,
                version=1,
                effective_from=date(2020, 1, 1),
                amount_fen=amount_fen,
                per_member=per_member,
                rule=rule,
                reason="test",
                created_by="test",
                created_at=at,
            )
        )
        s.add(
            ProgrammeFund(
                programme_code=code, year=2020, amount_fen=fund, source="test", recorded_by="test", recorded_at=at
            )
        )


async def _household(app: FastAPI, household: UUID, area: str, *, dibao: bool = True) -> None:
    code = f"CP-{household.int}"
    await apply_event(
        app, HouseholdRegistered(household_id=household, household_code=code, area_code=area, member_count=1)
    )
    if dibao:
        await _allowance(app, household, "dibao", date(2019, 1, 1))


async def _allowance(app: FastAPI, household: UUID, status: str, since: date) -> None:
    await apply_event(app, MinimumAllowanceChanged(household_id=household, status=status, effective_on=since))


async def _member(app: FastAPI, household: UUID, member: UUID, relationship: str, name: str, born: date) -> None:
    id_masked = f"3715**********{member.int:04d}"
    await apply_event(
        app,
        MemberAdded(
            household_id=household,
            member_id=member,
            relationship_to_head=relationship,
            birth_date=born,
            name_masked=name,
            id_masked=id_masked,
        ),
    )


@asynccontextmanager
async def cycles_app(url: str) -> AsyncIterator[tuple[FastAPI, AsyncClient, Clock]]:
    """The service on a migrated database with the test programme and four households: A, B and FAR on 低保 (A and
    B in the township, with their heads' masked names), C not; its clock on 2 June 2020."""
    clock = Clock()
    async with running_app("subsidies", url) as (app, client):
        app.dependency_overrides[request_time] = lambda: clock.now
        await _programme(
            app, PRICE, unit="household", rule=DIBAO_RULE, amount_fen=FLAT_FEN, per_member=False, fund=1_000_000
        )
        for household, area in ((A, VILLAGE_1), (B, VILLAGE_2), (FAR, FAR_VILLAGE)):
            await _household(app, household, area)
        await _household(app, C, VILLAGE_1, dibao=False)
        await _member(app, A, HEAD_A, "head", "张*三", date(1960, 3, 1))
        await _member(app, B, HEAD_B, "head", "李*", date(1958, 7, 1))
        await _member(app, B, CHILD_B, "son", "李*明", date(1990, 1, 1))
        yield app, client, clock


@pytest.fixture
async def api(sqlite_url: Any) -> AsyncIterator[tuple[FastAPI, AsyncClient, Clock]]:
    async with cycles_app(await sqlite_url("subsidies")) as running:
        yield running


async def _open(client: AsyncClient, code: str = PRICE, period: str = "2020-06") -> dict[str, Any]:
    r = await client.post("/v1/cycles", json={"programme_code": code, "period": period}, headers=CLERK)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def _step(client: AsyncClient, cycle: dict[str, Any], step: str, headers: dict[str, str] = CLERK) -> Response:
    return await client.post(f"/v1/cycles/{cycle['id']}/{step}", headers=headers)


async def _post_notice(client: AsyncClient, cycle: dict[str, Any], starts: str = "2020-06-02") -> Response:
    window = {"starts_on": starts, "ends_on": (date.fromisoformat(starts) + timedelta(days=6)).isoformat()}
    return await client.post(f"/v1/cycles/{cycle['id']}/notice", json=window, headers=CLERK)


async def _on_notice(client: AsyncClient, code: str = PRICE) -> dict[str, Any]:
    cycle = await _open(client, code)
    assert (await _step(client, cycle, "compute")).status_code == 200
    r = await _post_notice(client, cycle)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _submitted(client: AsyncClient, clock: Clock, code: str = PRICE) -> dict[str, Any]:
    cycle = await _on_notice(client, code)
    clock.on(date(2020, 6, 9))
    r = await _step(client, cycle, "submit", CASHIER)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _entitlements(client: AsyncClient, cycle: dict[str, Any], query: str = "") -> list[dict[str, Any]]:
    r = await client.get(f"/v1/cycles/{cycle['id']}/entitlements?limit=500{query}", headers=AUDITOR)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _by_household(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["household_id"]: item for item in items}


async def _count(app: FastAPI, model: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def _events(app: FastAPI, kind: str) -> list[dict[str, Any]]:
    async with app.state.sessions() as s:
        rows = await s.scalars(select(OutboxMessage).where(col(OutboxMessage.event_type) == kind))
        return [json.loads(row.payload) for row in rows.all()]


def _codes(r: Response, status: int) -> list[str]:
    return [e["code"] for e in assert_problem(r, status).get("errors") or []]


# --- The whole lifecycle ---------------------------------------------------------------------------------------


async def test_a_cycle_goes_from_draft_to_closed(api: Any) -> None:
    app, client, clock = api
    cycle = await _open(client)
    assert (cycle["status"], cycle["created_by"], cycle["entitled_count"]) == ("draft", "clerk", 0)

    computed = (await _step(client, cycle, "compute")).json()
    assert (computed["status"], computed["computed_by"], computed["entitled_count"]) == ("computed", "clerk", 3)
    assert computed["total_fen"] == 3 * FLAT_FEN and computed["version_id"] is not None
    listed = _by_household(await _entitlements(client, cycle))
    assert set(listed) == {str(A), str(B), str(FAR)}  # C is not on 低保

    posted = (await _post_notice(client, cycle)).json()
    assert (posted["status"], posted["notice_starts_on"], posted["notice_ends_on"]) == (
        "on_notice",
        "2020-06-02",
        "2020-06-08",
    )
    assert _codes(await _step(client, cycle, "submit", CASHIER), 422) == ["notice_not_ended"]
    clock.on(date(2020, 6, 9))
    submitted = (await _step(client, cycle, "submit", CASHIER)).json()
    assert (submitted["status"], submitted["submitted_by"]) == ("submitted", "cashier")

    approved = await _step(client, cycle, "approve", DIRECTOR)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["approved_by"], body["withdrawn_count"], body["amended_count"]) == (
        "approved",
        "director",
        0,
        0,
    )
    [event] = await _events(app, "gov.poverty.subsidies.cycle_approved.v1")
    assert event == {
        "cycle_id": cycle["id"],
        "programme_code": PRICE,
        "period": "2020-06",
        "version_id": computed["version_id"],
        "entitled_count": 3,
        "total_fen": 3 * FLAT_FEN,
        "submitted_by": "cashier",
        "approved_by": "director",
    }

    await _pay_every_line(app, UUID(cycle["id"]), paid=2)
    assert await _mark_paid(app, cycle["id"]) == "approved"  # one entitlement still unpaid
    assert_problem(await _step(client, cycle, "close"), 409)  # its line still waits for the bank
    await _pay_every_line(app, UUID(cycle["id"]), paid=3)
    assert await _mark_paid(app, cycle["id"]) == "paid"
    closed = (await _step(client, cycle, "close")).json()
    assert (closed["status"], closed["closed_at"] is not None, closed["paid_at"] is not None) == ("closed", True, True)


async def _pay_every_line(app: FastAPI, cycle_id: UUID, *, paid: int) -> None:
    """A batch with one line per listed entitlement: the first `paid` paid, the rest pending."""
    now = datetime(2020, 6, 10, tzinfo=UTC)
    async with app.state.sessions() as s, s.begin():
        ids = (
            await s.scalars(select(col(CycleEntitlement.id)).where(col(CycleEntitlement.cycle_id) == cycle_id))
        ).all()
        for line in (await s.scalars(select(BatchLine))).all():
            await s.delete(line)
        for batch in (await s.scalars(select(DisbursementBatch))).all():
            await s.delete(batch)
        await s.flush()
        batch = DisbursementBatch(
            cycle_id=cycle_id,
            sequence=1,
            status="exported",
            line_count=len(ids),
            total_fen=0,
            built_by="clerk",
            built_at=now,
        )
        s.add(batch)
        for n, entitlement_id in enumerate(sorted(ids), start=1):
            s.add(
                BatchLine(
                    batch_id=batch.id,
                    line_no=n,
                    entitlement_id=entitlement_id,
                    payee_id=uuid4(),
                    amount_fen=FLAT_FEN,
                    status="paid" if n <= paid else "pending",
                )
            )


async def _mark_paid(app: FastAPI, cycle_id: str) -> str:
    async with app.state.sessions() as s, s.begin():
        cycle = await mark_paid_if_settled(s, UUID(cycle_id), datetime(2020, 6, 11, tzinfo=UTC))
        return cycle.status


# --- Opening a cycle -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"programme_code": "industry_award", "period": "2020-06"}, "unknown_policy"),
        ({"programme_code": PRICE, "period": "2020"}, "period_format"),
        ({"programme_code": PRICE, "period": "2020-S1"}, "period_format"),
        ({"programme_code": PRICE, "period": "2019-12"}, "no_version_in_force"),
        ({"programme_code": PRICE, "period": "2020-07"}, "period_not_begun"),
    ],
)
async def test_a_cycle_needs_a_catalogued_programme_and_a_begun_period_of_its_frequency(
    api: Any, body: dict[str, str], code: str
) -> None:
    app, client, _ = api
    r = await client.post("/v1/cycles", json=body, headers=CLERK)
    assert code in _codes(r, 422)
    assert await _count(app, Cycle) == 0


async def test_one_cycle_per_programme_and_period(api: Any) -> None:
    app, client, _ = api
    await _open(client)
    again = await client.post("/v1/cycles", json={"programme_code": PRICE, "period": "2020-06"}, headers=CASHIER)
    assert assert_problem(again, 409)["code"] == "cycle_exists"
    await _open(client, period="2020-05")
    assert await _count(app, Cycle) == 2


async def test_opening_a_cycle_can_be_retried_with_its_key(api: Any) -> None:
    app, client, _ = api
    keyed = {**CLERK, "Idempotency-Key": "cycle-2020-06"}
    body = {"programme_code": PRICE, "period": "2020-06"}
    first = await client.post("/v1/cycles", json=body, headers=keyed)
    again = await client.post("/v1/cycles", json=body, headers=keyed)
    assert (first.status_code, again.status_code, again.json()) == (201, 200, first.json())
    assert await _count(app, Cycle) == 1


@pytest.mark.parametrize("headers", [DIRECTOR, AUDITOR, auth("township_office", area=TOWNSHIP)])
async def test_only_a_finance_officer_prepares_a_cycle(api: Any, headers: dict[str, str]) -> None:
    _, client, _ = api
    r = await client.post("/v1/cycles", json={"programme_code": PRICE, "period": "2020-06"}, headers=headers)
    assert_problem(r, 403)


# --- Steps out of order ----------------------------------------------------------------------------------------


async def test_a_step_out_of_order_is_409_naming_the_status_and_changes_nothing(api: Any) -> None:
    _, client, _ = api
    cycle = await _open(client)
    for step, headers in (("submit", CASHIER), ("approve", DIRECTOR), ("close", CLERK)):
        problem = assert_problem(await _step(client, cycle, step, headers), 409)
        assert (problem["code"], problem["cycle_status"]) == ("cycle_state", "draft")
    assert assert_problem(await _post_notice(client, cycle), 409)["cycle_status"] == "draft"
    await _step(client, cycle, "compute")
    await _post_notice(client, cycle)
    assert assert_problem(await _post_notice(client, cycle), 409)["cycle_status"] == "on_notice"
    assert assert_problem(await _step(client, cycle, "approve", DIRECTOR), 409)["cycle_status"] == "on_notice"
    status = (await client.get(f"/v1/cycles/{cycle['id']}", headers=AUDITOR)).json()["status"]
    assert status == "on_notice"


async def test_an_unknown_cycle_is_404(api: Any) -> None:
    _, client, _ = api
    assert_problem(await client.post(f"/v1/cycles/{uuid4()}/compute", headers=CLERK), 404)
    assert_problem(await client.get(f"/v1/cycles/{uuid4()}", headers=AUDITOR), 404)


# --- The list and its snapshots --------------------------------------------------------------------------------


async def test_each_entitlement_keeps_the_facts_version_and_explanation_it_was_decided_on(api: Any) -> None:
    app, client, _ = api
    cycle = await _open(client)
    computed = (await _step(client, cycle, "compute")).json()
    entitlement = _by_household(await _entitlements(client, cycle))[str(A)]
    detail = (await client.get(f"/v1/cycles/{cycle['id']}/entitlements/{entitlement['id']}", headers=AUDITOR)).json()
    assert (detail["member_id"], detail["area_code"], detail["amount_fen"]) == (None, VILLAGE_1, FLAT_FEN)
    assert (detail["status"], detail["version_id"]) == ("listed", computed["version_id"])
    assert detail["facts"]["household.allowance"] == "dibao"
    assert [(c["fact"], c["holds"]) for c in detail["explanation"]] == [
        ("household.member_count", True),  # the engine's own: a living member
        ("household.allowance", True),
        ("household.status", True),
    ]
    await _allowance(app, A, "none", date(2020, 5, 1))  # the register changes later...
    again = (await client.get(f"/v1/cycles/{cycle['id']}/entitlements/{entitlement['id']}", headers=AUDITOR)).json()
    assert again["facts"]["household.allowance"] == "dibao"  # ...what the list was decided on does not


async def test_computing_again_replaces_the_list_and_keeps_each_holders_entitlement(api: Any) -> None:
    app, client, _ = api
    cycle = await _open(client)
    await _step(client, cycle, "compute")
    before = _by_household(await _entitlements(client, cycle))
    await _allowance(app, C, "dibao", date(2020, 5, 1))
    await _allowance(app, FAR, "none", date(2020, 5, 1))
    recomputed = (await _step(client, cycle, "compute", CASHIER)).json()
    assert (recomputed["entitled_count"], recomputed["computed_by"]) == (3, "cashier")
    after = _by_household(await _entitlements(client, cycle))
    assert set(after) == {str(A), str(B), str(C)}
    assert after[str(A)]["id"] == before[str(A)]["id"]
    assert await _count(app, CycleEntitlement) == 3


async def test_a_per_member_standard_pays_each_living_member_and_approval_amends_it_after_a_death(api: Any) -> None:
    app, client, clock = api
    await _programme(app, PRICE, unit="household", rule=DIBAO_RULE, amount_fen=2_000, per_member=True, fund=1_000_000)
    cycle = await _submitted(client, clock)
    listed = _by_household(await _entitlements(client, cycle))
    detail = (await client.get(f"/v1/cycles/{cycle['id']}/entitlements/{listed[str(B)]['id']}", headers=AUDITOR)).json()
    living = detail["facts"]["household.member_count"]
    assert detail["amount_fen"] == 2_000 * living
    await apply_event(app, MemberDied(household_id=B, member_id=CHILD_B, died_on=date(2020, 5, 20)))
    body = (await _step(client, cycle, "approve", DIRECTOR)).json()
    assert (body["withdrawn_count"], body["amended_count"]) == (0, 1)
    amended = (
        await client.get(f"/v1/cycles/{cycle['id']}/entitlements/{listed[str(B)]['id']}", headers=AUDITOR)
    ).json()
    assert amended["amount_fen"] == 2_000 * (living - 1)
    assert amended["facts"]["household.member_count"] == living - 1
    assert body["total_fen"] == cycle["total_fen"] - 2_000


# --- Public notice ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "code"),
    [
        ({"starts_on": "2020-06-01", "ends_on": "2020-06-10"}, "notice_in_past"),
        ({"starts_on": "2020-06-02", "ends_on": "2020-06-07"}, "notice_too_short"),
    ],
)
async def test_a_notice_starts_today_or_later_and_lasts_seven_days(api: Any, window: dict[str, str], code: str) -> None:
    _, client, _ = api
    cycle = await _open(client)
    await _step(client, cycle, "compute")
    r = await client.post(f"/v1/cycles/{cycle['id']}/notice", json=window, headers=CLERK)
    assert _codes(r, 422) == [code]
    assert (await client.get(f"/v1/cycles/{cycle['id']}", headers=AUDITOR)).json()["status"] == "computed"


async def test_a_list_entitling_nobody_is_not_posted(api: Any) -> None:
    app, client, _ = api
    for household in (A, B, FAR):
        await _allowance(app, household, "none", date(2020, 5, 1))
    cycle = await _open(client)
    assert (await _step(client, cycle, "compute")).json()["entitled_count"] == 0
    assert _codes(await _post_notice(client, cycle), 422) == ["nothing_listed"]


async def test_the_notice_shows_masked_names_and_ids_by_village_and_never_more(api: Any) -> None:
    _, client, _ = api
    cycle = await _open(client)
    await _step(client, cycle, "compute")
    assert_problem(await client.get(f"/v1/cycles/{cycle['id']}/notice", headers=AUDITOR), 404)  # not posted yet
    await _post_notice(client, cycle)
    r = await client.get(f"/v1/cycles/{cycle['id']}/notice", headers=AUDITOR)
    lines = r.json()["items"]
    assert [line["village_code"] for line in lines] == [VILLAGE_1, VILLAGE_2, FAR_VILLAGE]
    assert lines[0] | {"entitlement_id": None} == {
        "entitlement_id": None,
        "household_id": str(A),
        "member_id": None,
        "village_code": VILLAGE_1,
        "name_masked": "张*三",
        "id_masked": f"3715**********{HEAD_A.int:04d}",
        "amount_fen": FLAT_FEN,
    }
    assert (lines[1]["name_masked"], lines[2]["name_masked"]) == ("李*", None)  # FAR's head is not known


async def test_a_village_cadre_reads_their_villages_notice_only(api: Any) -> None:
    _, client, _ = api
    cycle = await _on_notice(client)
    cadre = auth("village_cadre", area=VILLAGE_1, sub="cadre-1")
    mine = (await client.get(f"/v1/cycles/{cycle['id']}/notice", headers=cadre)).json()["items"]
    assert [line["household_id"] for line in mine] == [str(A)]
    other = await client.get(f"/v1/cycles/{cycle['id']}/notice?area_code={VILLAGE_2}", headers=cadre)
    assert_problem(other, 403)
    township = auth("township_office", area=TOWNSHIP, sub="township-1")
    theirs = (await client.get(f"/v1/cycles/{cycle['id']}/notice", headers=township)).json()["items"]
    assert [line["household_id"] for line in theirs] == [str(A), str(B)]
    assert_problem(await client.get(f"/v1/cycles/{cycle['id']}/entitlements", headers=cadre), 403)


async def test_the_notice_is_paged_village_by_village(api: Any) -> None:
    _, client, _ = api
    cycle = await _on_notice(client)
    seen, cursor = [], None
    while True:
        query = "?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"/v1/cycles/{cycle['id']}/notice{query}", headers=AUDITOR)).json()
        seen += [line["village_code"] for line in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == [VILLAGE_1, VILLAGE_2, FAR_VILLAGE]


async def test_a_member_programmes_notice_names_each_member(api: Any) -> None:
    app, client, _ = api
    rule = [{"fact": "member.age", "op": "gte", "value": 16}, {"fact": "member.alive", "op": "eq", "value": True}]
    await _programme(app, JOBS, unit="member", rule=rule, amount_fen=80_000, per_member=False, fund=10_000_000)
    cycle = await _on_notice(client, JOBS)
    lines = (await client.get(f"/v1/cycles/{cycle['id']}/notice", headers=AUDITOR)).json()["items"]
    named = {line["member_id"]: line["name_masked"] for line in lines}
    assert named == {str(HEAD_A): "张*三", str(HEAD_B): "李*", str(CHILD_B): "李*明"}


# --- Objections ------------------------------------------------------------------------------------------------


async def _object(
    client: AsyncClient, cycle: dict[str, Any], household: UUID, entitlement: str | None = None, **changes: Any
) -> Response:
    body = {"household_id": str(household), "grounds": "该户家中有营运车辆", "raised_on": "2020-06-02", **changes}
    if entitlement is not None:
        body["entitlement_id"] = entitlement
    return await client.post(f"/v1/cycles/{cycle['id']}/objections", json=body, headers=CLERK)


async def _decide(client: AsyncClient, cycle: dict[str, Any], objection: dict[str, Any], decision: str) -> Response:
    body = {"decision": decision, "note": "经入户核实"}
    path = f"/v1/cycles/{cycle['id']}/objections/{objection['id']}/decision"
    return await client.post(path, json=body, headers=DIRECTOR)


async def test_an_upheld_objection_withdraws_the_entitlement_and_undecided_ones_block_submission(api: Any) -> None:
    _, client, clock = api
    cycle = await _on_notice(client)
    listed = _by_household(await _entitlements(client, cycle))
    against_b = (await _object(client, cycle, B, listed[str(B)]["id"])).json()
    against_far = (await _object(client, cycle, FAR, listed[str(FAR)]["id"], raised_on="2020-06-02")).json()
    assert (against_b["decision"], against_b["recorded_by"]) == (None, "clerk")
    clock.on(date(2020, 6, 9))
    r = await _step(client, cycle, "submit", CASHIER)
    assert _codes(r, 422) == ["objection_undecided", "objection_undecided"]

    decided = (await _decide(client, cycle, against_b, "upheld")).json()
    assert (decided["decision"], decided["decided_by"], decided["decision_note"]) == (
        "upheld",
        "director",
        "经入户核实",
    )
    assert (await _decide(client, cycle, against_far, "dismissed")).status_code == 200
    assert assert_problem(await _decide(client, cycle, against_b, "dismissed"), 409)["code"] == "objection_decided"

    withdrawn = _by_household(await _entitlements(client, cycle, "&status=withdrawn"))
    assert set(withdrawn) == {str(B)} and against_b["id"] in withdrawn[str(B)]["withdrawn_reason"]
    state = (await client.get(f"/v1/cycles/{cycle['id']}", headers=AUDITOR)).json()
    assert (state["entitled_count"], state["total_fen"]) == (2, 2 * FLAT_FEN)
    assert (await _step(client, cycle, "submit", CASHIER)).status_code == 200
    undecided = await client.get(f"/v1/cycles/{cycle['id']}/objections?decided=false", headers=AUDITOR)
    assert undecided.json()["items"] == []
    assert len((await client.get(f"/v1/cycles/{cycle['id']}/objections", headers=AUDITOR)).json()["items"]) == 2


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"raised_on": "2020-06-01"}, "outside_notice_window"),
        ({"raised_on": "2020-06-03"}, "raised_in_future"),
        ({"household_id": str(uuid4())}, "unknown_household"),
    ],
)
async def test_an_objection_outside_the_window_or_of_no_household_is_refused(
    api: Any, changes: dict[str, str], code: str
) -> None:
    app, client, _ = api
    cycle = await _on_notice(client)
    assert _codes(await _object(client, cycle, A, **changes), 422) == [code]
    assert await _count(app, Objection) == 0


async def test_an_objection_names_an_entitlement_of_its_household_in_this_cycle(api: Any) -> None:
    app, client, _ = api
    cycle = await _on_notice(client)
    listed = _by_household(await _entitlements(client, cycle))
    assert _codes(await _object(client, cycle, A, listed[str(B)]["id"]), 422) == ["not_listed"]
    assert _codes(await _object(client, cycle, A, str(uuid4())), 422) == ["not_listed"]
    assert await _count(app, Objection) == 0


async def test_objections_are_raised_only_while_on_notice(api: Any) -> None:
    _, client, _ = api
    cycle = await _open(client)
    await _step(client, cycle, "compute")
    assert assert_problem(await _object(client, cycle, A), 409)["code"] == "cycle_state"


async def test_a_village_cadre_records_objections_in_their_village_only(api: Any) -> None:
    _, client, _ = api
    cycle = await _on_notice(client)
    cadre = auth("village_cadre", area=VILLAGE_1, sub="cadre-1")
    body = {"household_id": str(A), "grounds": "漏评", "raised_on": "2020-06-02"}
    r = await client.post(f"/v1/cycles/{cycle['id']}/objections", json=body, headers=cadre)
    assert r.status_code == 201, r.text
    far = {**body, "household_id": str(FAR)}
    assert_problem(await client.post(f"/v1/cycles/{cycle['id']}/objections", json=far, headers=cadre), 403)
    assert len((await client.get(f"/v1/cycles/{cycle['id']}/objections", headers=cadre)).json()["items"]) == 1


async def test_an_upheld_objection_for_a_household_left_out_waits_for_the_list_computed_again(api: Any) -> None:
    app, client, clock = api
    cycle = await _on_notice(client)
    listed = _by_household(await _entitlements(client, cycle))
    left_out = (await _object(client, cycle, C)).json()
    against_b = (await _object(client, cycle, B, listed[str(B)]["id"])).json()
    await _decide(client, cycle, left_out, "upheld")
    await _decide(client, cycle, against_b, "upheld")
    clock.on(date(2020, 6, 9))
    assert _codes(await _step(client, cycle, "submit", CASHIER), 422) == ["recompute_needed"]

    await _allowance(app, C, "dibao", date(2020, 5, 1))  # civil affairs puts C on 低保 from before the period
    recomputed = (await _step(client, cycle, "compute")).json()
    assert (recomputed["status"], recomputed["notice_starts_on"], recomputed["entitled_count"]) == ("computed", None, 3)
    after = _by_household(await _entitlements(client, cycle))
    assert after[str(B)] | {"withdrawn_reason": None} == listed[str(B)] | {"status": "withdrawn"}  # still withdrawn
    assert after[str(C)]["status"] == "listed"
    assert (await _post_notice(client, cycle, starts="2020-06-09")).status_code == 200
    clock.on(date(2020, 6, 16))
    assert (await _step(client, cycle, "submit", CASHIER)).status_code == 200


# --- Approval --------------------------------------------------------------------------------------------------


async def test_whoever_computed_or_submitted_the_list_may_not_approve_it(api: Any) -> None:
    _, client, clock = api
    cycle = await _submitted(client, clock)
    for headers in (CLERK, CASHIER, auth("finance_officer", "district_office", sub="clerk")):
        problem = assert_problem(await _step(client, cycle, "approve", headers), 403)
        assert problem["code"] == "separation_of_duties"
    assert_problem(await _step(client, cycle, "approve", AUDITOR), 403)  # an auditor approves nothing
    third = auth("finance_officer", sub="treasurer")
    assert (await _step(client, cycle, "approve", third)).json()["approved_by"] == "treasurer"


async def test_approval_withdraws_a_household_whose_dibao_ended_before_the_period(api: Any) -> None:
    app, client, clock = api
    cycle = await _submitted(client, clock)
    await _allowance(app, B, "none", date(2020, 6, 1))  # civil affairs ended B's 低保 from the period's first day
    body = (await _step(client, cycle, "approve", DIRECTOR)).json()
    assert (body["withdrawn_count"], body["entitled_count"], body["total_fen"]) == (1, 2, 2 * FLAT_FEN)
    [withdrawn] = await _entitlements(client, cycle, "&status=withdrawn")
    assert withdrawn["household_id"] == str(B)
    assert "household.allowance is none" in withdrawn["withdrawn_reason"]
    detail = (await client.get(f"/v1/cycles/{cycle['id']}/entitlements/{withdrawn['id']}", headers=AUDITOR)).json()
    assert detail["facts"]["household.allowance"] == "none"  # the snapshot the withdrawal was decided on
    [event] = await _events(app, "gov.poverty.subsidies.cycle_approved.v1")
    assert (event["entitled_count"], event["total_fen"]) == (2, 2 * FLAT_FEN)


async def test_a_dibao_ending_after_the_periods_first_day_does_not_withdraw_it(api: Any) -> None:
    app, client, clock = api
    cycle = await _submitted(client, clock)
    await _allowance(app, B, "none", date(2020, 6, 5))
    assert (await _step(client, cycle, "approve", DIRECTOR)).json()["withdrawn_count"] == 0


async def test_a_list_over_the_programmes_funds_is_not_approved_and_nothing_is_withdrawn(api: Any) -> None:
    app, client, clock = api
    cycle = await _submitted(client, clock)
    async with app.state.sessions() as s, s.begin():
        fund = (await s.scalars(select(ProgrammeFund).where(col(ProgrammeFund.programme_code) == PRICE))).one()
        fund.amount_fen = 2 * FLAT_FEN - 1  # enough for two households once B is withdrawn, but for one fen
    await _allowance(app, B, "none", date(2020, 6, 1))
    problem = assert_problem(await _step(client, cycle, "approve", DIRECTOR), 422)
    assert [e["code"] for e in problem["errors"]] == ["insufficient_funds"]
    assert (problem["total_fen"], problem["available_fen"]) == (2 * FLAT_FEN, 2 * FLAT_FEN - 1)
    assert {e["status"] for e in await _entitlements(client, cycle)} == {"listed"}
    state = (await client.get(f"/v1/cycles/{cycle['id']}", headers=AUDITOR)).json()
    assert (state["status"], state["entitled_count"]) == ("submitted", 3)
    assert await _events(app, "gov.poverty.subsidies.cycle_approved.v1") == []


async def test_an_approved_cycle_spends_the_years_funds(api: Any) -> None:
    app, client, clock = api
    async with app.state.sessions() as s, s.begin():
        fund = (await s.scalars(select(ProgrammeFund).where(col(ProgrammeFund.programme_code) == PRICE))).one()
        fund.amount_fen = 4 * FLAT_FEN  # one month of three households, not two
    june = await _submitted(client, clock)
    assert (await _step(client, june, "approve", DIRECTOR)).status_code == 200
    may = await _open(client, period="2020-05")
    await _step(client, may, "compute")
    await _post_notice(client, may, starts="2020-06-09")
    clock.on(date(2020, 6, 16))
    await _step(client, may, "submit", CASHIER)
    problem = assert_problem(await _step(client, may, "approve", DIRECTOR), 422)
    assert (problem["total_fen"], problem["available_fen"]) == (3 * FLAT_FEN, FLAT_FEN)


# --- Reading ---------------------------------------------------------------------------------------------------


async def test_cycles_are_listed_newest_first_and_filtered(api: Any) -> None:
    _, client, clock = api
    may = await _open(client, period="2020-05")
    clock.now += timedelta(minutes=1)
    june = await _open(client, period="2020-06")
    await _step(client, june, "compute")

    async def ids(query: str) -> list[str]:
        r = await client.get(f"/v1/cycles{query}", headers=AUDITOR)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    assert await ids("") == [june["id"], may["id"]]
    assert await ids("?status=draft") == [may["id"]]
    assert await ids("?period=2020-06") == [june["id"]]
    assert await ids(f"?programme_code={PRICE}&status=computed") == [june["id"]]
    assert await ids("?programme_code=dibao") == []
    first = (await client.get("/v1/cycles?limit=1", headers=AUDITOR)).json()
    second = (await client.get(f"/v1/cycles?limit=1&cursor={first['next_cursor']}", headers=AUDITOR)).json()
    assert [c["id"] for c in first["items"] + second["items"]] == [june["id"], may["id"]]
    assert second["next_cursor"] is None
    assert_problem(await client.get("/v1/cycles?period=2020-13", headers=AUDITOR), 422)


async def test_entitlements_are_filtered_by_area_status_and_household_and_paged_by_id(api: Any) -> None:
    _, client, _ = api
    cycle = await _open(client)
    await _step(client, cycle, "compute")
    everyone = await _entitlements(client, cycle)
    assert [e["id"] for e in everyone] == sorted(e["id"] for e in everyone)
    assert {e["household_id"] for e in await _entitlements(client, cycle, f"&area_code={TOWNSHIP}")} == {str(A), str(B)}
    assert [e["household_id"] for e in await _entitlements(client, cycle, f"&household_id={FAR}")] == [str(FAR)]
    assert await _entitlements(client, cycle, "&status=withdrawn") == []
    pages, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"/v1/cycles/{cycle['id']}/entitlements{query}", headers=AUDITOR)).json()
        pages.append([e["id"] for e in page["items"]])
        if (cursor := page["next_cursor"]) is None:
            break
    assert pages == [[e["id"] for e in everyone[:2]], [everyone[2]["id"]]]


async def test_a_township_office_reads_the_entitlements_within_its_area(api: Any) -> None:
    _, client, _ = api
    cycle = await _open(client)
    await _step(client, cycle, "compute")
    township = auth("township_office", area=TOWNSHIP, sub="township-1")
    r = await client.get(f"/v1/cycles/{cycle['id']}/entitlements", headers=township)
    assert {e["household_id"] for e in r.json()["items"]} == {str(A), str(B)}
    far = _by_household(await _entitlements(client, cycle))[str(FAR)]
    assert_problem(await client.get(f"/v1/cycles/{cycle['id']}/entitlements/{far['id']}", headers=township), 403)
    assert (await client.get(f"/v1/cycles/{cycle['id']}", headers=township)).status_code == 200
    other = await _open(client, period="2020-05")
    assert_problem(await client.get(f"/v1/cycles/{other['id']}/entitlements/{far['id']}", headers=AUDITOR), 404)
