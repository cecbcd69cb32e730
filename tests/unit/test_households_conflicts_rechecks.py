"""Conflicts of interest (优亲厚友) found whatever order the facts arrive in: a cycle's approval read after its
payments, and a household coming back on benefits after it was out of poverty without policies."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from services.households.models import Household, TransferReceipt
from services.households.rules.integrity import HitKind
from shared.contracts.households import HouseholdStatus
from shared.contracts.subsidies import CycleApproved, SubsidyPaid
from tests.support import apply_event
from tests.unit.test_households_conflicts import hits, holder, problems, relative, spouse_household
from tests.unit.test_households_helpers import OFFICE, VILLAGE, count, household, households_app, member, register


@pytest.fixture
async def api(sqlite_url: Any) -> AsyncIterator[tuple[Any, Any]]:
    async with households_app(sqlite_url) as running:
        yield running


def paid(household_id: str, *, cycle: uuid.UUID | None) -> SubsidyPaid:
    return SubsidyPaid(
        household_id=uuid.UUID(household_id),
        payment_id=uuid.uuid4(),
        policy_code="dibao",
        period="2020-06",
        amount_fen=50_000,
        cycle_id=cycle,
    )


async def test_a_cycle_approved_after_its_payments_checks_the_households_they_reached(api: Any) -> None:
    app, client = api
    approver = await holder(
        client, person_id="approver-sun", role="payment_approver", post="区民政局审批科长", area_code="371523"
    )
    await relative(client, approver["id"])
    kin = await register(client, spouse_household())
    other = await register(client, household("YQ-5", VILLAGE, member("钱五", "head", date(1955, 1, 1), seq=605)))
    cycle = uuid.uuid4()
    payment, by_hand = paid(kin["id"], cycle=cycle), paid(kin["id"], cycle=None)
    for event in (payment, by_hand, paid(other["id"], cycle=cycle)):  # read before the cycle's approval
        await apply_event(app, event)
    assert await count(app, TransferReceipt, col(TransferReceipt.cycle_id) == cycle) == 2
    before = len(await problems(app))  # the spouse as a beneficiary
    approved = CycleApproved(
        cycle_id=cycle, programme_code="dibao", period="2020-06", version_id=uuid.uuid4(), entitled_count=2,
        total_fen=100_000, submitted_by="clerk-1", approved_by="approver-sun",
    )  # fmt: skip
    await apply_event(app, approved)
    await apply_event(app, approved)  # sent again: nothing new
    [problem] = (await problems(app))[before:]
    assert problem.code == "approval_of_relative" and problem.household_id == uuid.UUID(kin["id"])
    assert problem.responsible is not None and problem.responsible.person_id == "approver-sun"
    [hit] = [h for h in await hits(app) if h.kind == HitKind.APPROVAL_OF_RELATIVE]
    assert hit.ref == str(cycle)
    payments = {e["id"] for e in hit.evidence if e["type"] == "payment"}
    assert payments == {str(payment.payment_id)}  # the payment by hand names no cycle, so no approver


@pytest.mark.parametrize("back_to", [HouseholdStatus.RELAPSED, HouseholdStatus.EXITED_RECEIVING_POLICIES])
async def test_a_household_back_on_benefits_is_checked_again(api: Any, back_to: HouseholdStatus) -> None:
    app, client = api
    exited = await register(client, spouse_household())
    async with app.state.sessions() as s, s.begin():
        hid = uuid.UUID(exited["id"])
        await s.execute(
            update(Household).where(col(Household.id) == hid).values(status=HouseholdStatus.EXITED_NO_POLICIES.value)
        )
    cadre = await holder(client)
    await relative(client, cadre["id"])
    assert await problems(app) == []  # no beneficiary while out of poverty without policies
    body = {"status": back_to.value, "reason": "返贫: 人均收入低于贫困线"}
    r = await client.post(f"/v1/households/{exited['id']}/status", json=body, headers=OFFICE)
    assert r.status_code == 200, r.text
    [problem] = await problems(app)
    assert problem.code == "relative_beneficiary" and problem.household_id == hid
    assert problem.responsible is not None and problem.responsible.person_id == "cadre-li"
    [hit] = await hits(app)
    assert (hit.kind, hit.ref) == (HitKind.RELATIVE_BENEFICIARY, cadre["id"])
