"""The controls on a distribution plan's way, on a migrated SQLite file: who may review and approve it (another
person, however their subject is written), the roll judged again at approval, payments of plans never approved or
paid twice, a reversal after accounting, and every change of status published.

The scenarios take the running app (`api`) so that tests/integration/test_projects_plans_postgres.py runs them
again on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select
from sqlmodel import col

from services.projects.models import ProjectProblem, RollMember
from shared.contracts.households import (
    HouseholdStatus,
    HouseholdStatusChanged,
    HouseholdUpdated,
    MemberDied,
)
from shared.errors import RuleViolation
from tests.support import apply_event, assert_problem, auth
from tests.unit.test_projects_plans import (
    APPROVED,
    FINANCE,
    OFFICE,
    READER,
    TODAY,
    TOWNSHIP,
    TOWNSHIP_OFFICE,
    VILLAGE,
    Household,
    approved,
    enrol,
    outbox,
    paid,
    plans_app,
    prepared,
    reversed_,
    shares_of,
    step,
    village_income,
)

PLAN_CHANGED = "gov.poverty.projects.distribution_plan_status_changed.v1"
PROBLEM_FOUND = "gov.poverty.projects.problem_found.v1"


@pytest.fixture
async def api(sqlite_url: Any) -> AsyncIterator[tuple[Any, Any]]:
    async with plans_app(await sqlite_url("projects")) as running:
        yield running


async def plan_of(client: Any, plan: str) -> dict[str, Any]:
    r = await client.get(f"/v1/plans/{plan}", headers=READER)
    assert r.status_code == 200, r.text
    return dict(r.json())


# --- separation of duties ---------------------------------------------------------------------------------------


async def test_a_plan_is_reviewed_by_someone_other_than_its_preparer_however_written(api: Any) -> None:
    app, client = api
    await enrol(app, Household())
    plan = (await prepared(client, await village_income(app, client), OFFICE))["id"]  # district-1
    for spelled in ("district-1", "DISTRICT-1", "District-1"):
        for body in ({"approve": True}, {"approve": False, "note": "重做"}):
            refused = await step(client, plan, "review", auth("district_office", sub=spelled), body)
            assert assert_problem(refused, 403)["code"] == "separation_of_duties"
    assert (await plan_of(client, plan))["status"] == "prepared"
    assert (await step(client, plan, "review", TOWNSHIP_OFFICE, {"approve": True})).status_code == 200


async def test_a_plan_is_approved_by_neither_its_preparer_nor_its_reviewer_however_written(api: Any) -> None:
    app, client = api
    await enrol(app, Household())
    plan = (await prepared(client, await village_income(app, client)))["id"]  # cadre-1
    await step(client, plan, "review", TOWNSHIP_OFFICE, {"approve": True})  # township-1
    for approver in (auth("finance_officer", sub="CADRE-1"), auth("district_office", sub="Township-1")):
        assert assert_problem(await step(client, plan, "approval", approver), 403)["code"] == "separation_of_duties"
    assert await outbox(app, APPROVED) == []
    assert (await step(client, plan, "approval", FINANCE)).status_code == 200


# --- the roll judged again at approval --------------------------------------------------------------------------


async def test_approval_refuses_a_plan_with_households_the_roll_no_longer_entitles(api: Any) -> None:
    app, client = api
    stays, exits, moves, dies = (Household() for _ in range(4))
    await enrol(app, stays, exits, moves, dies)
    income = await village_income(app, client, amount=1000)
    plan = (await prepared(client, income, basis="households"))["id"]
    await step(client, plan, "review", TOWNSHIP_OFFICE, {"approve": True})
    exited = HouseholdStatusChanged(
        household_id=exits.id, area_code=VILLAGE, from_status=HouseholdStatus.IN_POVERTY,
        to_status=HouseholdStatus.EXITED_NO_POLICIES, reason="officer_decision", effective_on=TODAY,
        changed_by="township-1",
    )  # fmt: skip
    await apply_event(app, exited)
    await apply_event(app, HouseholdUpdated(household_id=moves.id, area_code="371523105203", changed=["area_code"]))
    async with app.state.sessions() as s:
        [member] = (
            await s.scalars(select(col(RollMember.member_id)).where(col(RollMember.household_id) == dies.id))
        ).all()
    await apply_event(app, MemberDied(household_id=dies.id, member_id=member, died_on=TODAY))
    refused = assert_problem(await step(client, plan, "approval", FINANCE), 409)
    assert (refused["code"], refused["household_count"]) == ("plan_outdated", 3)
    assert refused["household_ids"] == sorted(str(h.id) for h in (exits, moves, dies))
    assert (await plan_of(client, plan))["status"] == "reviewed"
    assert await outbox(app, APPROVED) == []
    # The approver rejects it and the preparer prepares it again, from the roll as it stands.
    assert (await step(client, plan, "rejection", FINANCE, {"note": "名册已变化"})).status_code == 200
    again = (await prepared(client, income, basis="households"))["id"]
    assert set(await shares_of(client, again)) == {str(stays.id)}
    assert (await approved(client, again))["status"] == "approved"


async def test_a_household_moving_within_a_township_owners_area_keeps_its_share(api: Any) -> None:
    app, client = api
    household = Household()
    await enrol(app, household)
    owned: dict[str, Any] = {"owner_kind": "township", "owner_area_code": TOWNSHIP}
    plan = (await prepared(client, await village_income(app, client, **owned), TOWNSHIP_OFFICE))["id"]
    await step(client, plan, "review", auth("township_office", area=TOWNSHIP, sub="township-2"), {"approve": True})
    await apply_event(app, HouseholdUpdated(household_id=household.id, area_code="371523101202", changed=["area_code"]))
    assert (await step(client, plan, "approval", FINANCE)).status_code == 200


# --- payments coming back ---------------------------------------------------------------------------------------


async def test_a_payment_for_a_plan_never_approved_is_refused(api: Any) -> None:
    app, client = api
    [household] = [str(h) for h in await enrol(app, Household())]
    plan = (await prepared(client, await village_income(app, client, amount=500)))["id"]
    with pytest.raises(RuleViolation):
        await apply_event(app, paid(plan, household, 500))  # prepared
    await step(client, plan, "review", TOWNSHIP_OFFICE, {"approve": False, "note": "重做"})
    with pytest.raises(RuleViolation):
        await apply_event(app, paid(plan, household, 500))  # rejected
    read = await plan_of(client, plan)
    assert (read["status"], read["paid_fen"]) == ("rejected", 0)
    assert [s["status"] for s in (await shares_of(client, plan)).values()] == ["planned"]


async def test_a_second_payment_of_a_paid_share_is_kept_out_and_reported_to_audit_once(api: Any) -> None:
    app, client = api
    [household] = [str(h) for h in await enrol(app, Household())]
    plan = (await prepared(client, await village_income(app, client, amount=500)))["id"]
    await approved(client, plan)
    first, second = uuid4(), uuid4()
    await apply_event(app, paid(plan, household, 500, first))
    await apply_event(app, paid(plan, household, 500, second))
    await apply_event(app, paid(plan, household, 500, second))  # the double payment told again
    await apply_event(app, paid(plan, household, 500, first))  # the first told again
    read = await plan_of(client, plan)
    assert (read["status"], read["paid_fen"]) == ("paid", 500)
    [share] = (await shares_of(client, plan)).values()
    assert (share["status"], share["payment_id"]) == ("paid", str(first))
    async with app.state.sessions() as s:
        [problem] = (await s.scalars(select(ProjectProblem))).all()
    assert (problem.code, problem.severity, problem.origin, problem.subject_ref) == (
        "share_paid_twice",
        "severe",
        "check",
        str(second),
    )
    assert str(first) in problem.description and str(second) in problem.description
    [found] = await outbox(app, PROBLEM_FOUND)
    assert (found["project_id"], found["code"], found["severity"], found["found_by"]) == (
        read["project_id"],
        "share_paid_twice",
        "severe",
        "subsidies",
    )


async def test_a_reversal_after_accounting_returns_the_plan_to_approved_until_paid_and_accounted_again(
    api: Any,
) -> None:
    app, client = api
    low, high = sorted(str(h) for h in await enrol(app, Household(), Household()))
    plan = (await prepared(client, await village_income(app, client, amount=1000), basis="households"))["id"]
    await approved(client, plan)
    payments = {low: uuid4(), high: uuid4()}
    for household, payment in payments.items():
        await apply_event(app, paid(plan, household, 500, payment))
    assert (await step(client, plan, "accounting", FINANCE, {"voucher_no": "记-2020-07-015"})).status_code == 200
    await apply_event(app, reversed_(low, payments[low], 500))
    read = await plan_of(client, plan)
    assert (read["status"], read["paid_fen"], read["paid_at"]) == ("approved", 500, None)
    assert (read["voucher_no"], read["accounted_by"]) == ("记-2020-07-015", "finance-1")  # kept meanwhile
    assert assert_problem(await step(client, plan, "accounting", FINANCE, {"voucher_no": "记-2"}), 409)["code"] == (
        "plan_state"
    )
    await apply_event(app, paid(plan, low, 500, uuid4()))  # a follow-up batch pays it
    assert (await plan_of(client, plan))["status"] == "paid"
    again = await step(client, plan, "accounting", auth("finance_officer", sub="finance-2"), {"voucher_no": "记-2"})
    assert (again.json()["status"], again.json()["voucher_no"], again.json()["accounted_by"]) == (
        "accounted",
        "记-2",
        "finance-2",
    )


# --- what is published ------------------------------------------------------------------------------------------


async def test_every_change_of_a_plans_status_is_published(api: Any) -> None:
    app, client = api
    [household] = [str(h) for h in await enrol(app, Household())]
    income = await village_income(app, client, amount=500)
    dropped = (await prepared(client, income))["id"]
    await step(client, dropped, "review", TOWNSHIP_OFFICE, {"approve": True})
    await step(client, dropped, "rejection", FINANCE, {"note": "重做"})
    plan = (await prepared(client, income))["id"]
    await approved(client, plan)
    payment = uuid4()
    await apply_event(app, paid(plan, household, 500, payment))
    await step(client, plan, "accounting", FINANCE, {"voucher_no": "记-1"})
    await apply_event(app, reversed_(household, payment, 500))
    changes = await outbox(app, PLAN_CHANGED)
    assert [(UUID(e["plan_id"]), e["from_status"], e["to_status"], e["changed_by"]) for e in changes] == [
        (UUID(dropped), None, "prepared", "cadre-1"),
        (UUID(dropped), "prepared", "reviewed", "township-1"),
        (UUID(dropped), "reviewed", "rejected", "finance-1"),
        (UUID(plan), None, "prepared", "cadre-1"),
        (UUID(plan), "prepared", "reviewed", "township-1"),
        (UUID(plan), "reviewed", "approved", "finance-1"),
        (UUID(plan), "approved", "paid", "subsidies"),
        (UUID(plan), "paid", "accounted", "finance-1"),
        (UUID(plan), "accounted", "approved", "subsidies"),
    ]
    assert {(e["income_id"], e["owner_area_code"], e["amount_fen"]) for e in changes} == {(income, VILLAGE, 500)}
