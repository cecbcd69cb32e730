"""Public-welfare posts API on a migrated SQLite file: posts and their holders (one at a time, members on the roll
of the post's area), care pairings, the monthly payroll (pro rata to the fen, one per month, approved by another
officer), its lines paid and reversed by subsidies' events, and a household's wage income."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from services.projects.domain import payroll as payroll_domain
from services.projects.models import CarePairing, Payroll, PayrollLine, PostHolding, WorkshopEmployment
from shared.api.clock import request_time
from shared.contracts.households import (
    HouseholdRegistered,
    HouseholdStatus,
    HouseholdStatusChanged,
    MemberAdded,
    MemberDied,
)
from shared.contracts.subsidies import CorrectionKind, PolicyCode, SubsidyPaid, SubsidyPaymentCorrected
from shared.errors import RuleViolation
from shared.messaging.outbox import OutboxMessage
from tests.support import apply_event, assert_problem, auth, running_app

TOWNSHIP = "371523101"
VILLAGE = "371523101201"
OTHER_VILLAGE = "371523101202"
OTHER_TOWNSHIP_VILLAGE = "371523105203"
NOW = datetime(2020, 6, 20, 4, tzinfo=UTC)  # 2020-06-20 noon in the district
OFFICE = auth("district_office", sub="office-1")
TOWNSHIP_OFFICE = auth("township_office", area=TOWNSHIP, sub="township-1")
FINANCE = auth("finance_officer", sub="finance-1")
POST = {"title": "保洁员", "duty": "cleaning", "area_code": VILLAGE, "monthly_allowance_fen": 60_000}
APPROVED = "gov.poverty.projects.payroll_approved.v1"
PAYROLL_CHANGED = "gov.poverty.projects.payroll_status_changed.v1"
HOLDER_CHANGED = "gov.poverty.projects.post_holder_changed.v1"
JOB = PolicyCode.PUBLIC_WELFARE_JOB_SUBSIDY.value


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("projects", await sqlite_url("projects")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW
        yield app, client


async def on_roll(app: Any, *, area_code: str = VILLAGE, members: int = 1) -> tuple[UUID, list[UUID]]:
    """A household on projects' roll with living members, as households' events put it there."""
    household, people = uuid4(), [uuid4() for _ in range(members)]
    registered = HouseholdRegistered(household_id=household, household_code="H", area_code=area_code, member_count=1)
    await apply_event(app, registered)
    for member in people:
        born = date(1980, 1, 1)
        await apply_event(
            app, MemberAdded(household_id=household, member_id=member, relationship_to_head="head", birth_date=born)
        )
    return household, people


async def _count(app: Any, model: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)))


async def _events(app: Any, event_type: str) -> list[dict[str, Any]]:
    async with app.state.sessions() as s:
        rows = await s.scalars(
            select(OutboxMessage).where(col(OutboxMessage.event_type) == event_type).order_by(col(OutboxMessage.id))
        )
        return [json.loads(r.payload) for r in rows.all()]


async def _post(client: Any, headers: dict[str, str] = OFFICE, **changes: Any) -> str:
    r = await client.post("/v1/posts", json={**POST, **changes}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _holder(household: UUID, member: UUID, started_on: str = "2020-03-01") -> dict[str, str]:
    return {"household_id": str(household), "member_id": str(member), "started_on": started_on}


async def _hold(client: Any, post: str, household: UUID, member: UUID, started_on: str = "2020-03-01") -> str:
    r = await client.post(f"/v1/posts/{post}/holder", json=_holder(household, member, started_on), headers=OFFICE)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _end(client: Any, post: str, ended_on: str) -> Any:
    return await client.post(f"/v1/posts/{post}/holder/end", json={"ended_on": ended_on}, headers=OFFICE)


# --- posts and holders ------------------------------------------------------------------------------------------


async def test_a_post_is_listed_with_its_holder_and_by_vacancy_within_reach(api: Any) -> None:
    app, client = api
    held, vacant = await _post(client, TOWNSHIP_OFFICE), await _post(client, title="护林员", duty="forest_ranger")
    elsewhere = await _post(client, area_code=OTHER_TOWNSHIP_VILLAGE)
    household, [member] = await on_roll(app)
    holding = await _hold(client, held, household, member)
    listed = (await client.get("/v1/posts", headers=TOWNSHIP_OFFICE)).json()["items"]
    assert {p["id"]: (p["holder"] or {}).get("id") for p in listed} == {held: holding, vacant: None}
    only_vacant = (await client.get("/v1/posts", params={"vacant": "true"}, headers=OFFICE)).json()["items"]
    assert {p["id"] for p in only_vacant} == {vacant, elsewhere}
    only_held = (await client.get("/v1/posts", params={"vacant": "false"}, headers=OFFICE)).json()["items"]
    assert [(p["id"], p["holder"]["member_id"]) for p in only_held] == [(held, str(member))]
    assert (await client.get(f"/v1/posts/{held}", headers=auth("auditor"))).json()["holder"]["id"] == holding
    assert_problem(await client.get(f"/v1/posts/{elsewhere}", headers=TOWNSHIP_OFFICE), 403)
    assert_problem(await client.get("/v1/posts", params={"area_code": "371523105"}, headers=TOWNSHIP_OFFICE), 403)
    assert_problem(
        await client.post("/v1/posts", json={**POST, "area_code": OTHER_TOWNSHIP_VILLAGE}, headers=TOWNSHIP_OFFICE), 403
    )
    assert_problem(await client.post("/v1/posts", json=POST, headers=FINANCE), 403)
    assert_problem(await client.post("/v1/posts", json={**POST, "monthly_allowance_fen": 0}, headers=OFFICE), 422)


async def test_a_holder_is_a_living_entitled_member_on_the_roll_of_the_posts_area(api: Any) -> None:
    app, client = api
    post = await _post(client)
    household, [member, dead] = await on_roll(app, members=2)
    await apply_event(app, MemberDied(household_id=household, member_id=dead, died_on=date(2020, 5, 1)))
    exited, [exited_member] = await on_roll(app)
    changed = HouseholdStatusChanged(
        household_id=exited, area_code=VILLAGE, from_status=HouseholdStatus.IN_POVERTY,
        to_status=HouseholdStatus.EXITED_NO_POLICIES, reason="officer_decision", effective_on=date(2020, 5, 1),
        changed_by="office-1",
    )  # fmt: skip
    await apply_event(app, changed)
    neighbour, [neighbour_member] = await on_roll(app, area_code=OTHER_VILLAGE)
    cases = [
        (_holder(household, uuid4()), 409, "not_on_roll"),
        (_holder(household, dead), 409, "not_on_roll"),
        (_holder(uuid4(), member), 409, "not_on_roll"),
        (_holder(neighbour, member), 409, "not_on_roll"),  # another household's member
        (_holder(exited, exited_member), 409, "not_entitled"),
        (_holder(neighbour, neighbour_member), 422, "holder_outside_area"),
    ]
    for body, status, code in cases:
        problem = assert_problem(await client.post(f"/v1/posts/{post}/holder", json=body, headers=OFFICE), status)
        assert code in {problem.get("code"), *(e["code"] for e in problem.get("errors", []))}
    assert await _count(app, PostHolding) == 0
    township_post = await _post(client, area_code=TOWNSHIP)  # a township's post takes holders of all its villages
    await _hold(client, township_post, neighbour, neighbour_member)
    outsider = auth("township_office", area="371523105")
    assert_problem(
        await client.post(f"/v1/posts/{post}/holder", json=_holder(household, member), headers=outsider), 403
    )


async def test_a_post_has_one_holder_and_a_member_one_post_at_a_time(api: Any) -> None:
    app, client = api
    post, other = await _post(client), await _post(client, title="护路员", duty="road_maintenance")
    household, [first, second] = await on_roll(app, members=2)
    await _hold(client, post, household, first)
    problem = assert_problem(
        await client.post(f"/v1/posts/{post}/holder", json=_holder(household, second), headers=OFFICE), 409
    )
    assert problem["code"] == "post_taken"
    problem = assert_problem(
        await client.post(f"/v1/posts/{other}/holder", json=_holder(household, first), headers=OFFICE), 409
    )
    assert problem["code"] == "already_holds_post"
    for day, code in [("2020-02-29", "ends_before_start"), ("2020-06-21", "end_in_future")]:
        problem = assert_problem(await _end(client, post, day), 422)
        assert [e["code"] for e in problem["errors"]] == [code]
    ended = await _end(client, post, "2020-06-10")
    assert ended.status_code == 200 and ended.json()["ended_on"] == "2020-06-10"
    assert assert_problem(await _end(client, post, "2020-06-10"), 409)["code"] == "post_vacant"
    same_day = _holder(household, second, "2020-06-10")  # the first holder's last day
    assert (
        assert_problem(await client.post(f"/v1/posts/{post}/holder", json=same_day, headers=OFFICE), 409)["code"]
        == "post_taken"
    )
    backdated = _holder(household, first, "2020-06-01")  # the member held the other post then
    assert (
        assert_problem(await client.post(f"/v1/posts/{other}/holder", json=backdated, headers=OFFICE), 409)["code"]
        == "already_holds_post"
    )
    await _hold(client, post, household, second, "2020-06-11")
    await _hold(client, other, household, first, "2020-06-11")
    assert await _count(app, PostHolding) == 3


# --- pairings ---------------------------------------------------------------------------------------------------


async def test_a_holder_is_paired_with_a_household_of_the_posts_township(api: Any) -> None:
    app, client = api
    post = await _post(client, duty="care", title="护理员")
    holder_household, [holder] = await on_roll(app)
    cared, _ = await on_roll(app, area_code=OTHER_VILLAGE)
    far, _ = await on_roll(app, area_code=OTHER_TOWNSHIP_VILLAGE)
    pairings = f"/v1/posts/{post}/pairings"
    body = {"cared_household_id": str(cared), "started_on": "2020-03-15"}
    assert assert_problem(await client.post(pairings, json=body, headers=OFFICE), 409)["code"] == "post_vacant"
    await _hold(client, post, holder_household, holder)
    cases = [
        ({**body, "started_on": "2020-02-29"}, 422, "before_holding"),
        ({**body, "cared_household_id": str(uuid4())}, 409, "not_on_roll"),
        ({**body, "cared_household_id": str(far)}, 422, "outside_township"),
        ({**body, "cared_household_id": str(holder_household)}, 422, "own_household"),
    ]
    for sent, status, code in cases:
        problem = assert_problem(await client.post(pairings, json=sent, headers=OFFICE), status)
        assert code in {problem.get("code"), *(e["code"] for e in problem.get("errors", []))}
    r = await client.post(pairings, json=body, headers=TOWNSHIP_OFFICE)
    assert r.status_code == 201, r.text
    pairing = r.json()
    assert (pairing["holder_household_id"], pairing["cared_household_id"], pairing["post_id"]) == (
        str(holder_household),
        str(cared),
        post,
    )
    assert assert_problem(await client.post(pairings, json=body, headers=OFFICE), 409)["code"] == "already_paired"
    listed = (await client.get("/v1/pairings", headers=TOWNSHIP_OFFICE)).json()["items"]
    assert listed == [pairing]
    assert (await client.get("/v1/pairings", params={"area_code": OTHER_VILLAGE}, headers=OFFICE)).json()["items"] == []
    end = f"{pairings}/{pairing['id']}/end"
    problem = assert_problem(await client.post(end, json={"ended_on": "2020-03-14"}, headers=OFFICE), 422)
    assert [e["code"] for e in problem["errors"]] == ["ends_before_start"]
    assert (await client.post(end, json={"ended_on": "2020-05-31"}, headers=OFFICE)).json()["ended_on"] == "2020-05-31"
    assert (
        assert_problem(await client.post(end, json={"ended_on": "2020-05-31"}, headers=OFFICE), 409)["code"]
        == "already_ended"
    )
    assert_problem(await client.post(f"{pairings}/{uuid4()}/end", json={"ended_on": "2020-05-31"}, headers=OFFICE), 404)


async def test_a_holders_pairings_end_with_the_holding(api: Any) -> None:
    app, client = api
    post = await _post(client, duty="care", title="护理员")
    holder_household, [holder] = await on_roll(app)
    cared, _ = await on_roll(app)
    late, _ = await on_roll(app)
    await _hold(client, post, holder_household, holder)
    pairings = f"/v1/posts/{post}/pairings"
    await client.post(pairings, json={"cared_household_id": str(cared), "started_on": "2020-04-01"}, headers=OFFICE)
    await client.post(pairings, json={"cared_household_id": str(late), "started_on": "2020-06-15"}, headers=OFFICE)
    problem = assert_problem(await _end(client, post, "2020-06-14"), 422)  # a pairing began after that day
    assert [e["code"] for e in problem["errors"]] == ["ends_before_start"]
    assert (await _end(client, post, "2020-06-16")).status_code == 200
    async with app.state.sessions() as s:
        assert set((await s.scalars(select(col(CarePairing.ended_on)))).all()) == {date(2020, 6, 16)}


# --- payrolls ---------------------------------------------------------------------------------------------------


async def _holders_of_june(app: Any, client: Any) -> dict[str, tuple[UUID, UUID]]:
    """Three holders of June 2020 (30 days) at 600 yuan: the whole month, from the 15th, until the 10th."""
    held: dict[str, tuple[UUID, UUID]] = {}
    for name, started_on, ended_on in [
        ("whole", "2020-01-01", None),
        ("from_15th", "2020-06-15", None),
        ("to_10th", "2020-02-01", "2020-06-10"),
    ]:
        post = await _post(client, title=name)
        household, [member] = await on_roll(app)
        await _hold(client, post, household, member, started_on)
        if ended_on:
            assert (await _end(client, post, ended_on)).status_code == 200
        held[name] = (household, member)
    gone = await _post(client, title="gone")  # held until May: no line
    household, [member] = await on_roll(app)
    await _hold(client, gone, household, member, "2020-01-01")
    await _end(client, gone, "2020-05-31")
    return held


async def _lines(client: Any, payroll: str, headers: dict[str, str] = OFFICE) -> dict[str, dict[str, Any]]:
    items = (await client.get(f"/v1/payrolls/{payroll}/lines", headers=headers)).json()["items"]
    return {line["member_id"]: line for line in items}


async def test_a_payroll_pays_each_holder_pro_rata_to_the_fen(api: Any) -> None:
    app, client = api
    held = await _holders_of_june(app, client)
    assert_problem(await client.post("/v1/payrolls", json={"period": "2020-06"}, headers=TOWNSHIP_OFFICE), 403)
    r = await client.post("/v1/payrolls", json={"period": "2020-06"}, headers=FINANCE)
    assert r.status_code == 201, r.text
    payroll = r.json()
    lines = await _lines(client, payroll["id"])
    amounts = {name: lines[str(member)]["amount_fen"] for name, (_, member) in held.items()}
    assert amounts == {"whole": 60_000, "from_15th": 60_000 * 16 // 30, "to_10th": 60_000 * 10 // 30}
    assert (payroll["status"], payroll["line_count"], payroll["total_fen"]) == ("prepared", 3, 60_000 + 32_000 + 20_000)
    assert {line["status"] for line in lines.values()} == {"planned"}


async def test_a_payroll_is_one_per_month_of_a_month_begun_with_someone_to_pay(api: Any) -> None:
    app, client = api
    assert (
        assert_problem(await client.post("/v1/payrolls", json={"period": "2020-06"}, headers=FINANCE), 409)["code"]
        == "nothing_to_pay"
    )
    await _holders_of_june(app, client)
    problem = assert_problem(await client.post("/v1/payrolls", json={"period": "2020-07"}, headers=FINANCE), 422)
    assert [e["code"] for e in problem["errors"]] == ["period_not_begun"]
    assert (await client.post("/v1/payrolls", json={"period": "2020-06"}, headers=FINANCE)).status_code == 201
    again = await client.post("/v1/payrolls", json={"period": "2020-06"}, headers=auth("finance_officer", sub="f-2"))
    assert assert_problem(again, 409)["code"] == "payroll_exists"
    assert_problem(await client.post("/v1/payrolls", json={"period": "2020-05"}, headers=OFFICE), 403)  # approves only
    # The payroll is the whole district's: a township office prepares none, not even its own township's.
    assert_problem(await client.post("/v1/payrolls", json={"period": "2020-05"}, headers=TOWNSHIP_OFFICE), 403)
    assert await _count(app, Payroll) == 1 and await _count(app, PayrollLine) == 3


async def test_a_payroll_over_the_most_lines_is_refused(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, client = api
    await _holders_of_june(app, client)
    monkeypatch.setattr(payroll_domain, "MAX_PAYROLL_LINES", 2)
    assert (
        assert_problem(await client.post("/v1/payrolls", json={"period": "2020-06"}, headers=FINANCE), 409)["code"]
        == "too_many_lines"
    )
    assert await _count(app, Payroll) == 0 and await _count(app, PayrollLine) == 0


async def test_a_holding_in_a_payroll_does_not_end_before_the_months_end(api: Any) -> None:
    app, client = api
    post = await _post(client)
    household, [member] = await on_roll(app)
    await _hold(client, post, household, member)
    assert (await client.post("/v1/payrolls", json={"period": "2020-05"}, headers=FINANCE)).status_code == 201
    assert assert_problem(await _end(client, post, "2020-05-20"), 409)["code"] == "in_payroll"
    assert (await _end(client, post, "2020-05-31")).status_code == 200


async def _approved_payroll(app: Any, client: Any) -> tuple[dict[str, Any], dict[str, tuple[UUID, UUID]]]:
    held = await _holders_of_june(app, client)
    payroll = (await client.post("/v1/payrolls", json={"period": "2020-06"}, headers=FINANCE)).json()
    r = await client.post(f"/v1/payrolls/{payroll['id']}/approval", headers=OFFICE)
    assert r.status_code == 200, r.text
    return r.json(), held


async def test_a_payroll_is_approved_by_another_officer_and_published(api: Any) -> None:
    app, client = api
    await _holders_of_june(app, client)
    payroll = (await client.post("/v1/payrolls", json={"period": "2020-06"}, headers=FINANCE)).json()
    approval = f"/v1/payrolls/{payroll['id']}/approval"
    assert assert_problem(await client.post(approval, headers=FINANCE), 403)["code"] == "separation_of_duties"
    assert_problem(await client.post(approval, headers=TOWNSHIP_OFFICE), 403)  # prepares, never approves
    assert await _events(app, APPROVED) == []
    approved = (await client.post(approval, headers=auth("finance_officer", sub="finance-2"))).json()
    assert (approved["status"], approved["approved_by"]) == ("approved", "finance-2")
    [event] = await _events(app, APPROVED)
    lines = await _lines(client, payroll["id"])
    assert event["payroll_id"] == payroll["id"] and event["period"] == "2020-06"
    assert sorted(event["lines"], key=lambda x: x["member_id"]) == [
        {k: lines[m][k] for k in ("household_id", "member_id", "post_id", "amount_fen")} for m in sorted(lines)
    ]
    assert sum(x["amount_fen"] for x in event["lines"]) == payroll["total_fen"]
    assert assert_problem(await client.post(approval, headers=OFFICE), 409)["code"] == "payroll_state"
    assert len(await _events(app, APPROVED)) == 1
    assert_problem(await client.post(f"/v1/payrolls/{uuid4()}/approval", headers=OFFICE), 404)
    listed = (await client.get("/v1/payrolls", params={"status": "approved"}, headers=auth("auditor"))).json()
    assert [p["id"] for p in listed["items"]] == [payroll["id"]]
    assert (await client.get("/v1/payrolls", params={"status": "paid"}, headers=OFFICE)).json()["items"] == []


def _paid(household: UUID, member: UUID, payroll: str, payment: UUID, amount_fen: int) -> SubsidyPaid:
    return SubsidyPaid(
        household_id=household, payment_id=payment, policy_code=JOB, period="2020-06", amount_fen=amount_fen,
        member_id=member, cycle_id=UUID(payroll),
    )  # fmt: skip


async def test_subsidies_payments_mark_lines_paid_once_and_reversals_take_them_back(api: Any) -> None:
    app, client = api
    payroll, held = await _approved_payroll(app, client)
    lines = await _lines(client, payroll["id"])
    payments = {name: uuid4() for name in held}
    for name, (household, member) in held.items():
        paid = _paid(household, member, payroll["id"], payments[name], lines[str(member)]["amount_fen"])
        await apply_event(app, paid)
        first = (await _lines(client, payroll["id"]))[str(member)]
        await apply_event(app, paid)  # told again: nothing more
        again = _paid(household, member, payroll["id"], uuid4(), lines[str(member)]["amount_fen"])
        await apply_event(app, again)  # paid once: the first stays
        assert (await _lines(client, payroll["id"]))[str(member)] == {**first, "status": "paid"}
        assert first["payment_id"] == str(payments[name])
        if name == "whole":
            partly = (await client.get(f"/v1/payrolls/{payroll['id']}", headers=OFFICE)).json()
            assert (partly["status"], partly["paid_fen"]) == ("approved", 60_000)
    done = (await client.get(f"/v1/payrolls/{payroll['id']}", headers=OFFICE)).json()
    assert (done["status"], done["paid_fen"]) == ("paid", payroll["total_fen"]) and done["paid_at"] is not None
    household, member = held["from_15th"]
    corrected = SubsidyPaymentCorrected(
        household_id=household, payment_id=payments["from_15th"], kind=CorrectionKind.REVERSAL, policy_code=JOB,
        period="2020-06", amount_fen=32_000,
    )  # fmt: skip
    await apply_event(app, corrected)
    await apply_event(app, corrected)
    await apply_event(app, _paid(household, member, payroll["id"], payments["from_15th"], 32_000))  # told again
    back = (await client.get(f"/v1/payrolls/{payroll['id']}", headers=OFFICE)).json()
    assert (back["status"], back["paid_fen"], back["paid_at"]) == ("approved", payroll["total_fen"] - 32_000, None)
    line = (await _lines(client, payroll["id"]))[str(member)]
    assert (line["status"], line["payment_id"]) == ("reversed", str(payments["from_15th"]))
    repaid = uuid4()
    await apply_event(app, _paid(household, member, payroll["id"], repaid, 32_000))  # a follow-up batch pays it
    again = (await client.get(f"/v1/payrolls/{payroll['id']}", headers=OFFICE)).json()
    assert (again["status"], again["paid_fen"]) == ("paid", payroll["total_fen"])
    assert (await _lines(client, payroll["id"]))[str(member)]["payment_id"] == str(repaid)


async def test_payments_of_no_payroll_of_ours_change_nothing(api: Any) -> None:
    app, client = api
    held = await _holders_of_june(app, client)
    prepared = (await client.post("/v1/payrolls", json={"period": "2020-06"}, headers=FINANCE)).json()
    household, member = held["whole"]
    await apply_event(app, _paid(household, member, str(uuid4()), uuid4(), 60_000))  # an unknown payroll
    await apply_event(app, _paid(household, member, prepared["id"], uuid4(), 60_000))  # never approved
    await apply_event(app, _paid(household, uuid4(), prepared["id"], uuid4(), 60_000))  # no such line
    unknown = SubsidyPaymentCorrected(
        household_id=household, payment_id=uuid4(), kind=CorrectionKind.RECOVERY, policy_code=JOB, period="2020-06",
        amount_fen=1,
    )  # fmt: skip
    await apply_event(app, unknown)
    after = (await client.get(f"/v1/payrolls/{prepared['id']}", headers=OFFICE)).json()
    assert (after["status"], after["paid_fen"]) == ("prepared", 0)
    assert {line["status"] for line in (await _lines(client, prepared["id"])).values()} == {"planned"}


async def test_a_township_officer_reads_the_payroll_lines_of_its_area(api: Any) -> None:
    app, client = api
    held = await _holders_of_june(app, client)
    far_post = await _post(client, area_code=OTHER_TOWNSHIP_VILLAGE)
    household, [member] = await on_roll(app, area_code=OTHER_TOWNSHIP_VILLAGE)
    await _hold(client, far_post, household, member)
    payroll = (await client.post("/v1/payrolls", json={"period": "2020-06"}, headers=FINANCE)).json()
    assert payroll["line_count"] == 4
    own = await _lines(client, payroll["id"], TOWNSHIP_OFFICE)
    assert set(own) == {str(m) for _, m in held.values()}
    assert_problem(await client.get(f"/v1/payrolls/{uuid4()}/lines", headers=OFFICE), 404)


async def test_a_households_wage_income_holds_its_approved_allowances(api: Any) -> None:
    app, client = api
    payroll, held = await _approved_payroll(app, client)
    household, member = held["whole"]
    wages = f"/v1/households/{household}/wages"
    [allowance] = (await client.get(wages, headers=OFFICE)).json()["items"]
    assert (allowance["source"], allowance["amount_fen"], allowance["status"], allowance["period"]) == (
        "post_allowance",
        60_000,
        "planned",
        "2020-06",
    )
    await apply_event(app, _paid(household, member, payroll["id"], uuid4(), 60_000))
    assert (await client.get(wages, headers=TOWNSHIP_OFFICE)).json()["items"][0]["status"] == "paid"
    assert (await client.get(wages, params={"year": 2019}, headers=OFFICE)).json()["items"] == []
    assert_problem(await client.get(wages, headers=auth("township_office", area="371523105")), 403)
    assert_problem(await client.get(f"/v1/households/{uuid4()}/wages", headers=OFFICE), 404)


# --- deaths and exits, separation of duties, what is published -------------------------------------------------


def _exited(household: UUID) -> HouseholdStatusChanged:
    return HouseholdStatusChanged(
        household_id=household, area_code=VILLAGE, from_status=HouseholdStatus.IN_POVERTY,
        to_status=HouseholdStatus.EXITED_NO_POLICIES, reason="officer_decision", effective_on=date(2020, 6, 5),
        changed_by="office-1",
    )  # fmt: skip


async def test_a_payroll_pays_a_holder_to_the_day_of_death_and_none_whose_household_exited_without_policies(
    api: Any,
) -> None:
    app, client = api
    held: dict[str, tuple[UUID, UUID]] = {}
    for name in ("alive", "died_10_june", "died_20_may", "exited"):
        household, [member] = await on_roll(app)
        await _hold(client, await _post(client, title=name), household, member)  # from 1 March, 600 yuan a month
        held[name] = (household, member)
    for name, day in (("died_10_june", date(2020, 6, 10)), ("died_20_may", date(2020, 5, 20))):
        await apply_event(app, MemberDied(household_id=held[name][0], member_id=held[name][1], died_on=day))
    await apply_event(app, _exited(held["exited"][0]))
    for period, expected in (
        ("2020-06", {"alive": 60_000, "died_10_june": 60_000 * 10 // 30}),  # the day of death is paid
        ("2020-05", {"alive": 60_000, "died_10_june": 60_000, "died_20_may": 60_000 * 20 // 31}),
    ):
        payroll = (await client.post("/v1/payrolls", json={"period": period}, headers=FINANCE)).json()
        lines = await _lines(client, payroll["id"])
        # The household exited without policies as the roll stands when the payroll is prepared: no line, even
        # for May, before it exited.
        assert {name: lines[str(m)]["amount_fen"] for name, (_, m) in held.items() if str(m) in lines} == expected
        assert (payroll["line_count"], payroll["total_fen"]) == (len(expected), sum(expected.values()))


async def test_a_holders_death_ends_their_post_pairings_and_employment_that_day_once(api: Any) -> None:
    app, client = api
    post = await _post(client, duty="care", title="护理员")
    household, [member] = await on_roll(app)
    cared, _ = await on_roll(app)
    await _hold(client, post, household, member)
    pairing = {"cared_household_id": str(cared), "started_on": "2020-04-01"}
    assert (await client.post(f"/v1/posts/{post}/pairings", json=pairing, headers=OFFICE)).status_code == 201
    workshop = {"name": "同心就业工场", "kind": "employment_workshop", "area_code": TOWNSHIP, "operator": "同心服饰"}
    workshop_id = (await client.post("/v1/workshops", json=workshop, headers=OFFICE)).json()["id"]
    hired = {
        "household_id": str(household),
        "member_id": str(member),
        "monthly_wage_fen": 1,
        "started_on": "2020-04-01",
    }
    assert (await client.post(f"/v1/workshops/{workshop_id}/workers", json=hired, headers=OFFICE)).status_code == 201
    died = MemberDied(household_id=household, member_id=member, died_on=date(2020, 6, 12))
    await apply_event(app, died)
    await apply_event(app, died)  # told again: nothing more
    assert (await client.get(f"/v1/posts/{post}", headers=OFFICE)).json()["holder"] is None
    async with app.state.sessions() as s:
        ends = [
            set((await s.scalars(select(column))).all())
            for column in (col(PostHolding.ended_on), col(CarePairing.ended_on), col(WorkshopEmployment.ended_on))
        ]
    assert ends == [{date(2020, 6, 12)}] * 3
    changes = [
        (e["post_id"], e["member_id"], e["started_on"], e["ended_on"]) for e in await _events(app, HOLDER_CHANGED)
    ]
    assert changes == [
        (post, str(member), "2020-03-01", None),
        (post, str(member), "2020-03-01", "2020-06-12"),
    ]


async def test_taking_and_leaving_a_post_is_published_with_the_posts_area(api: Any) -> None:
    app, client = api
    post = await _post(client)
    household, [member] = await on_roll(app)
    await _hold(client, post, household, member)
    assert (await _end(client, post, "2020-06-10")).status_code == 200
    assert await _events(app, HOLDER_CHANGED) == [
        {"post_id": post, "area_code": VILLAGE, "household_id": str(household), "member_id": str(member),
         "started_on": "2020-03-01", "ended_on": ended}
        for ended in (None, "2020-06-10")
    ]  # fmt: skip


async def test_a_payroll_is_not_approved_by_its_preparer_however_the_subject_is_written(api: Any) -> None:
    app, client = api
    await _holders_of_june(app, client)
    prepared = await client.post(
        "/v1/payrolls", json={"period": "2020-06"}, headers=auth("finance_officer", sub="li.na")
    )
    approval = f"/v1/payrolls/{prepared.json()['id']}/approval"
    for spelled in ("LI.NA", "Li.Na"):
        refused = await client.post(approval, headers=auth("finance_officer", sub=spelled))
        assert assert_problem(refused, 403)["code"] == "separation_of_duties"
    assert await _events(app, APPROVED) == []
    assert (await client.post(approval, headers=auth("finance_officer", sub="wang.fang"))).status_code == 200


async def test_a_payment_of_another_amount_than_the_line_is_refused_and_changes_nothing(api: Any) -> None:
    app, client = api
    payroll, held = await _approved_payroll(app, client)
    household, member = held["whole"]
    with pytest.raises(RuleViolation):
        await apply_event(app, _paid(household, member, payroll["id"], uuid4(), 59_999))
    assert (await _lines(client, payroll["id"]))[str(member)]["status"] == "planned"
    assert (await client.get(f"/v1/payrolls/{payroll['id']}", headers=OFFICE)).json()["paid_fen"] == 0


async def test_every_change_of_a_payrolls_status_is_published(api: Any) -> None:
    app, client = api
    payroll, held = await _approved_payroll(app, client)
    lines = await _lines(client, payroll["id"])
    payments = {name: uuid4() for name in held}
    for name, (household, member) in held.items():
        amount = lines[str(member)]["amount_fen"]
        await apply_event(app, _paid(household, member, payroll["id"], payments[name], amount))
    household, member = held["whole"]
    reversal = SubsidyPaymentCorrected(
        household_id=household, payment_id=payments["whole"], kind=CorrectionKind.REVERSAL, policy_code=JOB,
        period="2020-06", amount_fen=60_000,
    )  # fmt: skip
    await apply_event(app, reversal)
    changes = await _events(app, PAYROLL_CHANGED)
    assert [(e["from_status"], e["to_status"], e["changed_by"]) for e in changes] == [
        (None, "prepared", "finance-1"),
        ("prepared", "approved", "office-1"),
        ("approved", "paid", "subsidies"),
        ("paid", "approved", "subsidies"),
    ]
    assert {(e["payroll_id"], e["period"], e["total_fen"]) for e in changes} == {
        (payroll["id"], "2020-06", payroll["total_fen"])
    }
