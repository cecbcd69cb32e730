"""Money reaches households: subsidies paid (转移性收入), project-income shares (资产收益: plans' shares paid,
allocations made before plans) and public-welfare posts' allowances (工资性收入) consumed from `subsidies.events`,
and workshops' wages (工资性收入) from `projects.events`, count in the household's income for their year, once per
payment, allocation or wage, less what a correction took back, whichever order the events came in; the income read,
the exit assessment and relapse-risk monitoring see them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select, update

from services.households.handlers import build_handlers
from services.households.models import Household, RiskFlag, TransferReceipt
from services.households.rules.transfers import counted_fen, status_of, year_of_period
from services.households.rules.vocabulary import ReceiptStatus
from services.households.settings import HouseholdsSettings
from shared.contracts import PROJECTS_TOPIC, SUBSIDIES_TOPIC
from shared.contracts.projects import WorkshopWagesRecorded
from shared.contracts.subsidies import (
    CorrectionKind,
    ProjectIncomeAllocated,
    SubsidyPaid,
    SubsidyPaymentCorrected,
)
from shared.errors import NotFound
from shared.timeutil import district_today
from tests.support import apply_event, assert_problem, auth
from tests.unit.test_households_helpers import OFFICE, count, household, households_app, member, register

THIS_YEAR = district_today().year
LINE = {"line_fen": 450_000, "monitoring_margin_fen": 50_000}


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with households_app(sqlite_url) as running:
        yield running


async def two_people(client: Any, code: str = "TR-1") -> UUID:
    """A household of two, registered; its id."""
    body = household(
        code,
        "371523101201",
        member("张三", "head", date(1960, 3, 1), medical_insured=True),
        member("李四", "spouse", date(1962, 7, 9), medical_insured=True),
    )
    return UUID((await register(client, body))["id"])


def paid(hid: UUID, amount_fen: int, period: str = "2020-05", payment_id: UUID | None = None) -> SubsidyPaid:
    return SubsidyPaid(
        household_id=hid, payment_id=payment_id or uuid4(), policy_code="dibao", period=period, amount_fen=amount_fen
    )


def corrected(payment: SubsidyPaid, amount_fen: int | None = None) -> SubsidyPaymentCorrected:
    return SubsidyPaymentCorrected(
        household_id=payment.household_id,
        payment_id=payment.payment_id,
        kind=CorrectionKind.RECOVERY,
        policy_code=payment.policy_code,
        period=payment.period,
        amount_fen=amount_fen or payment.amount_fen,
    )


async def income(client: Any, hid: UUID, year: int) -> dict[str, Any]:
    r = await client.get(f"/v1/households/{hid}/income?year={year}", headers=OFFICE)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def receipt(app: Any, receipt_id: UUID) -> TransferReceipt:
    async with app.state.sessions() as s:
        found: TransferReceipt | None = await s.get(TransferReceipt, receipt_id)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("period", "year"), [("2020-05", 2020), ("2021-S1", 2021), ("2021-S2", 2021), ("2019", 2019), ("2020-12", 2020)]
)
def test_a_payment_counts_in_its_periods_year(period: str, year: int) -> None:
    assert year_of_period(period) == year


@pytest.mark.parametrize(
    "period", ["2020-13", "2020-S3", "20-05", "２０２０-05", "2020-5", "", "1800-01", "2020-05-01"]
)
def test_a_period_of_no_known_form_is_refused(period: str) -> None:
    with pytest.raises(ValueError, match="not a subsidy period"):
        year_of_period(period)


@pytest.mark.parametrize(
    ("paid_fen", "corrected_fen", "counted", "status"),
    [
        (25_800, 0, 25_800, ReceiptStatus.COUNTED),
        (25_800, 25_800, 0, ReceiptStatus.CORRECTED),
        (25_800, 10_000, 15_800, ReceiptStatus.CORRECTED),
        (25_800, 30_000, 0, ReceiptStatus.CORRECTED),
        (None, 25_800, 0, ReceiptStatus.AWAITING_PAYMENT),
    ],
)
def test_a_receipt_counts_the_payment_less_its_correction(
    paid_fen: int | None, corrected_fen: int, counted: int, status: ReceiptStatus
) -> None:
    assert (counted_fen(paid_fen, corrected_fen), status_of(paid_fen, corrected_fen)) == (counted, status)


def test_households_consumes_the_subsidies_and_projects_topics() -> None:
    assert {SUBSIDIES_TOPIC, PROJECTS_TOPIC} <= set(build_handlers(HouseholdsSettings()).topics)


async def test_a_subsidy_paid_is_transfer_income_of_its_year_and_counts_once(api: Any) -> None:
    app, client = api
    hid = await two_people(client)
    payment = paid(hid, 25_800, period="2020-05")
    for _ in range(2):  # the same payment sent again (another event id) counts once
        await apply_event(app, payment)
    summary = await income(client, hid, 2020)
    assert (summary["transfer_income_fen"], summary["recorded_income_fen"], summary["asset_income_fen"]) == (
        25_800,
        0,
        0,
    )
    assert (summary["total_fen"], summary["per_capita_income_fen"]) == (25_800, 12_900)
    assert (await income(client, hid, 2021))["total_fen"] == 0
    stored = await receipt(app, payment.payment_id)
    assert (stored.kind, stored.year, stored.policy_code, stored.status) == ("subsidy", 2020, "dibao", "counted")
    assert await count(app, TransferReceipt) == 1


async def test_recorded_income_and_transfers_add_up_in_the_per_capita_figure(api: Any) -> None:
    app, client = api
    hid = await two_people(client)
    record = {"year": 2020, "source": "wages", "amount_fen": 600_000}
    assert (await client.post(f"/v1/households/{hid}/income-records", json=record, headers=OFFICE)).status_code == 201
    await apply_event(app, paid(hid, 150_000, period="2020-S1"))
    await apply_event(app, paid(hid, 10_000, period="2020"))
    summary = await income(client, hid, 2020)
    assert (summary["recorded_income_fen"], summary["transfer_income_fen"], summary["total_fen"]) == (
        600_000,
        160_000,
        760_000,
    )
    assert summary["per_capita_income_fen"] == 380_000 and len(summary["records"]) == 1


async def test_a_project_income_share_counts_in_the_year_of_the_incomes_period(api: Any) -> None:
    app, client = api
    hid = await two_people(client)
    share = ProjectIncomeAllocated(
        household_id=hid, allocation_id=uuid4(), project_id=uuid4(), income_id=uuid4(), amount_fen=60_000,
        period="2020-12",
    )  # fmt: skip
    await apply_event(app, share, at=datetime(2021, 1, 5, 2, tzinfo=UTC))  # December's income, shared out in January
    assert (await income(client, hid, 2020))["asset_income_fen"] == 60_000
    assert (await income(client, hid, 2021))["total_fen"] == 0
    stored = await receipt(app, share.allocation_id)
    assert (stored.year, stored.period, stored.project_id) == (2020, "2020-12", share.project_id)


async def test_a_project_income_share_without_a_period_is_asset_income_of_the_year_it_was_shared_out(
    api: Any,
) -> None:
    app, client = api
    hid = await two_people(client)
    share = ProjectIncomeAllocated(
        household_id=hid, allocation_id=uuid4(), project_id=uuid4(), income_id=uuid4(), amount_fen=40_000
    )
    # 31 December 2020 17:00 UTC is 1 January 2021 in the district: the district's year counts.
    await apply_event(app, share, at=datetime(2020, 12, 31, 17, tzinfo=UTC))
    await apply_event(app, share, at=datetime(2020, 12, 31, 17, tzinfo=UTC))
    assert (await income(client, hid, 2021))["asset_income_fen"] == 40_000
    assert (await income(client, hid, 2020))["total_fen"] == 0
    assert (await receipt(app, share.allocation_id)).project_id == share.project_id


async def test_a_correction_takes_the_payment_back_out_once(api: Any) -> None:
    app, client = api
    hid = await two_people(client)
    kept, wrong = paid(hid, 25_800, "2020-05"), paid(hid, 25_800, "2020-06")
    for event in (kept, wrong, corrected(wrong), corrected(wrong)):
        await apply_event(app, event)
    assert (await income(client, hid, 2020))["transfer_income_fen"] == 25_800
    stored = await receipt(app, wrong.payment_id)
    assert (stored.paid_fen, stored.corrected_fen, stored.counted_fen, stored.status) == (
        25_800,
        25_800,
        0,
        "corrected",
    )


async def test_a_partial_recovery_leaves_the_rest_counted(api: Any) -> None:
    app, client = api
    hid = await two_people(client)
    payment = paid(hid, 25_800)
    await apply_event(app, payment)
    await apply_event(app, corrected(payment, 5_800))
    assert (await income(client, hid, 2020))["transfer_income_fen"] == 20_000


async def test_a_correction_before_its_payment_waits_and_the_payment_then_counts_nothing(api: Any) -> None:
    """A payment dead-lettered and replayed after its correction: the order the events come in does not matter."""
    app, client = api
    hid = await two_people(client)
    payment = paid(hid, 25_800)
    await apply_event(app, corrected(payment))
    waiting = await receipt(app, payment.payment_id)
    assert (waiting.paid_fen, waiting.counted_fen, waiting.status) == (None, 0, "awaiting_payment")
    await apply_event(app, payment)
    await apply_event(app, payment)
    assert (await income(client, hid, 2020))["transfer_income_fen"] == 0
    assert (await receipt(app, payment.payment_id)).status == "corrected"


async def test_money_for_a_household_not_registered_yet_is_retried_not_lost(api: Any) -> None:
    app, _ = api
    stranger = paid(uuid4(), 25_800)
    for event in (stranger, corrected(stranger)):
        with pytest.raises(NotFound):  # the consumer retries it, then dead-letters it
            await apply_event(app, event)
    assert await count(app, TransferReceipt) == 0


async def test_a_payment_for_a_period_or_a_policy_of_no_known_form_is_refused_and_records_nothing(api: Any) -> None:
    """Retried, then dead-lettered: replayed once understood, never counted under a name nobody can read."""
    app, client = api
    hid = await two_people(client)
    with pytest.raises(ValueError, match="not a subsidy period"):
        await apply_event(app, paid(hid, 25_800, period="2020-W5"))  # one longer is refused by the contract
    unknown = paid(hid, 25_800).model_copy(update={"policy_code": "bonus"})
    with pytest.raises(ValueError, match="bonus"):
        await apply_event(app, unknown)
    assert await count(app, TransferReceipt) == 0


async def test_the_exit_assessment_sees_the_transfers(api: Any) -> None:
    app, client = api
    hid = await two_people(client)
    await client.put(f"/v1/poverty-lines/{THIS_YEAR}", json=LINE, headers=OFFICE)
    record = {"year": THIS_YEAR, "source": "wages", "amount_fen": 800_000}
    await client.post(f"/v1/households/{hid}/income-records", json=record, headers=OFFICE)
    gaps = (await client.get(f"/v1/households/{hid}/assessment", headers=OFFICE)).json()["gaps"]
    assert "income_below_line" in {g["code"] for g in gaps}
    await apply_event(app, paid(hid, 120_000, period=f"{THIS_YEAR}-01"))
    assessment = (await client.get(f"/v1/households/{hid}/assessment", headers=OFFICE)).json()
    assert assessment["per_capita_income_fen"] == 460_000
    assert "income_below_line" not in {g["code"] for g in assessment["gaps"]}


async def test_a_correction_that_puts_an_exited_household_under_the_margin_flags_relapse_risk(api: Any) -> None:
    app, client = api
    hid = await two_people(client)
    await client.put(f"/v1/poverty-lines/{THIS_YEAR}", json=LINE, headers=OFFICE)
    record = {"year": THIS_YEAR, "source": "wages", "amount_fen": 900_000}
    await client.post(f"/v1/households/{hid}/income-records", json=record, headers=OFFICE)
    async with app.state.sessions() as s, s.begin():
        await s.execute(update(Household).where(Household.id == hid).values(status="exited_receiving_policies"))  # type: ignore[arg-type]
    payment = paid(hid, 200_000, period=f"{THIS_YEAR}-01")
    await apply_event(app, payment)
    assert await count(app, RiskFlag) == 0  # 550,000 a person: above line + margin
    await apply_event(app, corrected(payment))  # back to 450,000 a person: under line + margin
    async with app.state.sessions() as s:
        [flag] = (await s.scalars(select(RiskFlag))).all()
        exited = await s.get(Household, hid)
    assert exited is not None
    status = exited.status
    assert (flag.kind, flag.raised_by, flag.amount_fen, status) == (
        "income_below_margin",
        "subsidies",
        450_000,
        "monitored",
    )


async def test_the_receipts_are_listed_in_pages_filtered_by_year_and_kind(api: Any) -> None:
    app, client = api
    hid = await two_people(client)
    payments = [paid(hid, 25_800 + n, period=f"2020-{n + 1:02d}") for n in range(3)]
    for n, payment in enumerate(payments):
        await apply_event(app, payment, at=datetime(2020, n + 2, 1, tzinfo=UTC))
    await apply_event(app, paid(hid, 10_000, period="2019"), at=datetime(2020, 6, 1, tzinfo=UTC))
    share = ProjectIncomeAllocated(
        household_id=hid, allocation_id=uuid4(), project_id=uuid4(), income_id=uuid4(), amount_fen=40_000
    )
    await apply_event(app, share, at=datetime(2020, 7, 1, tzinfo=UTC))
    at = f"/v1/households/{hid}/transfer-receipts"
    first = (await client.get(f"{at}?year=2020&kind=subsidy&limit=2", headers=OFFICE)).json()
    rest = (await client.get(f"{at}?year=2020&kind=subsidy&cursor={first['next_cursor']}", headers=OFFICE)).json()
    listed = [r["receipt_id"] for r in first["items"] + rest["items"]]
    assert listed == [str(p.payment_id) for p in payments] and rest["next_cursor"] is None
    everything = (await client.get(at, headers=OFFICE)).json()["items"]
    assert [(r["kind"], r["year"]) for r in everything][-2:] == [("subsidy", 2019), ("project_income", 2020)]
    assert_problem(await client.get(f"{at}?kind=wages", headers=OFFICE), 422)
    assert_problem(await client.get(f"{at}?year=1999", headers=OFFICE), 422)


async def test_receipts_are_read_within_reach_only(api: Any) -> None:
    app, client = api
    hid = await two_people(client)
    await apply_event(app, paid(hid, 25_800))
    elsewhere = auth("township_office", area="371523105")
    assert_problem(await client.get(f"/v1/households/{hid}/transfer-receipts", headers=elsewhere), 403)
    assert_problem(await client.get(f"/v1/households/{hid}/income", headers=elsewhere), 403)
    assert_problem(await client.get(f"/v1/households/{uuid4()}/transfer-receipts", headers=OFFICE), 404)
    mine = auth("township_office", area="371523101")
    assert len((await client.get(f"/v1/households/{hid}/transfer-receipts", headers=mine)).json()["items"]) == 1


# --- Shares of projects' income and wages -------------------------------------------------------------------------


def paid_of(hid: UUID, policy_code: str, amount_fen: int, period: str = "2020-06") -> SubsidyPaid:
    return SubsidyPaid(
        household_id=hid, payment_id=uuid4(), policy_code=policy_code, period=period, amount_fen=amount_fen,
        cycle_id=uuid4(),
    )  # fmt: skip


def wage(hid: UUID, amount_fen: int, period: str = "2020-06") -> WorkshopWagesRecorded:
    return WorkshopWagesRecorded(
        household_id=hid, member_id=uuid4(), workshop_id=uuid4(), wage_id=uuid4(), period=period,
        amount_fen=amount_fen,
    )  # fmt: skip


async def test_a_plans_share_paid_is_asset_income_and_its_reversal_takes_it_back(api: Any) -> None:
    app, client = api
    hid = await two_people(client)
    share = paid_of(hid, "project_income_share", 60_001)
    await apply_event(app, share)
    summary = await income(client, hid, 2020)
    assert (summary["asset_income_fen"], summary["transfer_income_fen"], summary["wage_income_fen"]) == (60_001, 0, 0)
    stored = await receipt(app, share.payment_id)
    assert (stored.kind, stored.policy_code, stored.project_id) == ("project_income", "project_income_share", None)
    await apply_event(app, corrected(share))
    assert (await income(client, hid, 2020))["asset_income_fen"] == 0


async def test_a_posts_allowance_and_a_workshops_wage_are_wage_income_counted_once(api: Any) -> None:
    app, client = api
    hid = await two_people(client)
    allowance, earned = paid_of(hid, "public_welfare_job_subsidy", 60_000), wage(hid, 180_000)
    for event in (allowance, earned, allowance, earned):  # each sent twice (new event ids): counted once
        await apply_event(app, event)
    summary = await income(client, hid, 2020)
    assert (summary["wage_income_fen"], summary["transfer_income_fen"], summary["asset_income_fen"]) == (240_000, 0, 0)
    assert (summary["total_fen"], summary["per_capita_income_fen"]) == (240_000, 120_000)
    assert (await receipt(app, earned.wage_id)).kind == (await receipt(app, allowance.payment_id)).kind == "wage"
    listed = (await client.get(f"/v1/households/{hid}/transfer-receipts?kind=wage", headers=OFFICE)).json()["items"]
    assert {r["receipt_id"] for r in listed} == {str(allowance.payment_id), str(earned.wage_id)}
    await apply_event(app, corrected(allowance))  # the allowance's payment reversed: the wage stays
    assert (await income(client, hid, 2020))["wage_income_fen"] == 180_000


async def test_a_correction_before_its_allowance_waits_as_wage_income(api: Any) -> None:
    app, client = api
    hid = await two_people(client)
    allowance = paid_of(hid, "public_welfare_job_subsidy", 60_000)
    await apply_event(app, corrected(allowance))
    await apply_event(app, allowance)
    stored = await receipt(app, allowance.payment_id)
    assert (stored.kind, stored.counted_fen) == ("wage", 0)


async def test_the_exit_assessment_counts_wages(api: Any) -> None:
    app, client = api
    hid = await two_people(client)
    await client.put(f"/v1/poverty-lines/{THIS_YEAR}", json=LINE, headers=OFFICE)
    await apply_event(app, wage(hid, 800_000, period=f"{THIS_YEAR}-01"))
    gaps = (await client.get(f"/v1/households/{hid}/assessment", headers=OFFICE)).json()["gaps"]
    assert "income_below_line" in {g["code"] for g in gaps}  # 400,000 a person: under the line
    await apply_event(app, paid_of(hid, "public_welfare_job_subsidy", 120_000, period=f"{THIS_YEAR}-01"))
    assessment = (await client.get(f"/v1/households/{hid}/assessment", headers=OFFICE)).json()
    assert assessment["per_capita_income_fen"] == 460_000
    assert "income_below_line" not in {g["code"] for g in assessment["gaps"]}


async def test_a_wage_for_a_household_not_registered_yet_is_retried_not_lost(api: Any) -> None:
    app, _ = api
    with pytest.raises(NotFound):
        await apply_event(app, wage(uuid4(), 10_000))
    assert await count(app, TransferReceipt) == 0
