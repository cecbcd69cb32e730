"""Subsidy leaks become audit findings on the payment, graded by kind; a subsidy cycle approved and a bank file
exported are kept in the tamper-evident log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select
from sqlmodel import col

from services.audit.domain.referrals import hand_over_serious_findings
from services.audit.models import DisciplineReferral, Finding, LedgerEntry, RectificationTask
from services.audit.rules.findings import LEAK_SEVERITY
from shared.contracts import SUBSIDIES_TOPIC
from shared.contracts.subsidies import BankFileExported, CycleApproved, LeakKind, SubsidyLeakFound
from tests.support import apply_event, auth, running_app

AREA = "371523101201"
HOUSEHOLD = UUID(int=1)


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("audit", await sqlite_url("audit")) as (app, client):
        yield app, client


@pytest.fixture
def app(api: Any) -> Any:
    return api[0]


def leak(kind: LeakKind, payment_id: UUID | None = None) -> SubsidyLeakFound:
    return SubsidyLeakFound(
        household_id=HOUSEHOLD,
        leak_id=uuid4(),
        check_id=uuid4(),
        kind=kind,
        payment_id=payment_id or uuid4(),
        area_code=AREA,
        policy_code="dibao",
        period="2020-06",
        detail="household.allowance is none, not dibao",
    )


async def findings(app: Any) -> list[Finding]:
    async with app.state.sessions() as s:
        return list((await s.scalars(select(Finding).order_by(col(Finding.opened_at), col(Finding.code)))).all())


async def referrals(app: Any) -> list[tuple[UUID, str, str]]:
    async with app.state.sessions() as s:
        rows = (await s.scalars(select(DisciplineReferral))).all()
    return sorted((r.finding_id, r.reason, r.severity) for r in rows)


@pytest.mark.parametrize(
    ("kind", "severity"),
    [
        (LeakKind.PAID_NOT_ENTITLED, "serious"),
        (LeakKind.WRONG_AMOUNT, "general"),
        (LeakKind.PAID_AFTER_DEATH, "serious"),
        (LeakKind.PAID_AFTER_EXIT, "serious"),
        (LeakKind.SHARED_ACCOUNT, "severe"),
        (LeakKind.HOLDER_OUTSIDE_HOUSEHOLD, "serious"),
    ],
)
async def test_a_leak_is_a_funds_finding_on_the_payment_graded_by_its_kind(
    app: Any, kind: LeakKind, severity: str
) -> None:
    event = leak(kind)
    await apply_event(app, event)
    [finding] = await findings(app)
    assert (finding.subject_kind, finding.subject_id, finding.category, finding.code, finding.severity) == (
        "payment",
        str(event.payment_id),
        "funds",
        f"subsidy_{kind.value}",
        severity,
    )
    assert (finding.area_code, finding.source_ref) == (AREA, str(event.leak_id))
    assert finding.description == f"dibao 2020-06 paid to household {HOUSEHOLD}: {event.detail}"
    async with app.state.sessions() as s:
        task = (await s.scalars(select(RectificationTask))).one()
    assert task.owner == "township_office:371523101"  # the payment's township answers for it


def test_every_leak_kind_has_a_severity() -> None:
    assert set(LEAK_SEVERITY) == set(LeakKind)


async def test_a_shared_account_reaches_the_discipline_commission_at_once(app: Any) -> None:
    await apply_event(app, leak(LeakKind.SHARED_ACCOUNT))
    [finding] = await findings(app)
    assert await referrals(app) == [(finding.id, "severe_finding", "severe")]


async def test_a_payment_to_a_non_entitled_household_is_handed_over_with_the_weeks_serious_findings(app: Any) -> None:
    await apply_event(app, leak(LeakKind.PAID_NOT_ENTITLED))
    await apply_event(app, leak(LeakKind.WRONG_AMOUNT))
    assert await referrals(app) == []  # serious: weekly, not at once; general: not referred for itself
    not_entitled, wrong_amount = sorted(await findings(app), key=lambda f: f.code)
    later = datetime.now(UTC) + timedelta(days=8)
    async with app.state.sessions() as s, s.begin():
        await hand_over_serious_findings(s, recorded_before=later, now=later)
    assert (not_entitled.code, wrong_amount.code) == ("subsidy_paid_not_entitled", "subsidy_wrong_amount")
    assert await referrals(app) == [(not_entitled.id, "weekly_handover", "serious")]


async def test_each_kind_of_leak_on_one_payment_is_its_own_finding(app: Any) -> None:
    payment = uuid4()
    for kind in (LeakKind.PAID_AFTER_DEATH, LeakKind.WRONG_AMOUNT, LeakKind.PAID_AFTER_DEATH):
        await apply_event(app, leak(kind, payment))
    found = sorted((f.code, f.occurrences) for f in await findings(app))
    assert found == [("subsidy_paid_after_death", 2), ("subsidy_wrong_amount", 1)]  # a repeat adds an occurrence


async def test_a_leak_finding_is_read_in_the_payments_history(api: Any) -> None:
    app, client = api
    payment = uuid4()
    await apply_event(app, leak(LeakKind.HOLDER_OUTSIDE_HOUSEHOLD, payment))
    r = await client.get(f"/v1/subjects/payment/{payment}/history", headers=auth("discipline_commission"))
    assert r.status_code == 200, r.text
    assert [item["finding"]["code"] for item in r.json()["items"]] == ["subsidy_holder_outside_household"]


async def test_an_approved_cycle_and_an_exported_bank_file_are_logged(app: Any) -> None:
    cycle = uuid4()
    approved = CycleApproved(
        cycle_id=cycle,
        programme_code="dibao",
        period="2020-06",
        version_id=uuid4(),
        entitled_count=279,
        total_fen=279 * 25_800,
        submitted_by="cashier-1",
        approved_by="director-2",
    )
    exported = BankFileExported(
        cycle_id=cycle,
        batch_id=uuid4(),
        encoding="gbk",
        checksum="0" * 64,
        line_count=279,
        total_fen=279 * 25_800,
        exported_by="cashier-1",
        reason="monthly 低保 disbursement to the county bank",
    )
    for event in (approved, exported):
        await apply_event(app, event)
    async with app.state.sessions() as s:
        logged = (await s.scalars(select(LedgerEntry).order_by(col(LedgerEntry.seq)))).all()
    assert [(e.source.split("/")[0], e.event_type) for e in logged] == [
        (SUBSIDIES_TOPIC, approved.event_type),
        (SUBSIDIES_TOPIC, exported.event_type),
    ]
    assert await findings(app) == []  # logged only: nothing to rectify
