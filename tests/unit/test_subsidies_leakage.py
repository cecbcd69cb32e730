"""Leakage checks (资金安全核查): every paid payment of a period judged against the rule and standard in force and the
account it went into; each leak kept once per payment and kind, published, and turned into an audit finding; paid
and closed cycles checked on a schedule."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import insert, select, update
from sqlmodel import col

from services.audit.domain.referrals import hand_over_serious_findings
from services.audit.models import DisciplineReferral, Finding
from services.subsidies.domain import schedule
from services.subsidies.models import CoverageCheck, Cycle, DisbursementBatch, Leak, LeakageCheck, Payee, Payment
from services.subsidies.rules.eligibility import HolderFacts
from services.subsidies.rules.leakage import Account, Found, PaidHolder, Standard, find_leaks
from services.subsidies.settings import SubsidiesSettings
from shared.contracts.households import MinimumAllowance
from shared.contracts.subsidies import LeakKind, SubsidyLeakFound
from shared.timeutil import district_today, utcnow
from tests.support import apply_event, assert_problem, auth, running_app
from tests.unit.test_subsidies_coverage import (
    AREAS,
    DIBAO_FEN,
    DIBAO_RULE,
    FINANCE,
    GAP_FOUND,
    HOUSEHOLD_A,
    HOUSEHOLD_B,
    HOUSEHOLD_C,
    HOUSEHOLD_FAR,
    MEMBER_1,
    MEMBER_2,
    MEMBER_3,
    PENSION_FEN,
    PENSION_RULE,
    add_members,
    count,
    died,
    exit_without_policies,
    install_catalogue,
    on_allowance,
    outbox,
    pay,
    register,
)

LEAK_FOUND = "gov.poverty.subsidies.leak_found.v1"
AUDITOR = auth("auditor", sub="auditor-9")
NOW = datetime(2020, 8, 3, 2, 0, tzinfo=UTC)
ON_DIBAO = {"household.allowance": "dibao", "household.status": "in_poverty", "household.member_count": 2}


# --- the rules, without a database -------------------------------------------------------------------------


def _paid(amount_fen: int = 2 * DIBAO_FEN, member_id: UUID | None = None) -> PaidHolder:
    return PaidHolder(uuid4(), HOUSEHOLD_A, member_id, amount_fen)


def _facts(values: dict[str, object] | None = None, member_id: UUID | None = None) -> HolderFacts:
    return HolderFacts(HOUSEHOLD_A, member_id, AREAS[HOUSEHOLD_A], {**ON_DIBAO, **(values or {})})


DIBAO = Standard(DIBAO_FEN, True, DIBAO_RULE)
PENSION = Standard(PENSION_FEN, False, PENSION_RULE)


def _kinds(found: list[Found]) -> list[LeakKind]:
    return [leak.kind for leak in found]


def test_a_payment_to_an_entitled_holder_at_the_standard_into_its_own_account_is_clean() -> None:
    own = Account(MEMBER_1, holder_is_member=True, other_households=0)
    assert find_leaks(_paid(), _facts(), DIBAO, own) == []
    assert find_leaks(_paid(), _facts(), DIBAO, None) == []  # recorded with no account: none to judge


def test_a_payment_the_rule_did_not_entitle_says_which_conditions_failed() -> None:
    [leak] = find_leaks(_paid(), _facts({"household.allowance": "none"}), DIBAO, None)
    assert leak.kind is LeakKind.PAID_NOT_ENTITLED
    assert leak.detail == "the rule did not entitle the holder: household.allowance is none (must be dibao): not met"


def test_a_payment_to_no_holder_subsidies_knows_entitled_no_one() -> None:
    assert _kinds(find_leaks(_paid(), None, DIBAO, None)) == [LeakKind.PAID_NOT_ENTITLED]
    [leak] = find_leaks(_paid(PENSION_FEN, MEMBER_3), None, PENSION, None)
    assert leak.detail == f"member {MEMBER_3} of the household is not known to subsidies: no rule can entitle it"


def test_the_amount_is_the_standard_for_the_members_living_on_the_first_day() -> None:
    [leak] = find_leaks(_paid(3 * DIBAO_FEN), _facts(), DIBAO, None)
    assert (leak.kind, leak.detail) == (
        LeakKind.WRONG_AMOUNT,
        "paid 77400 fen; the standard is 51600 fen (2 living member(s) × 25800 fen)",
    )
    [leak] = find_leaks(
        _paid(20_000, MEMBER_1), _facts({"member.age": 40, "member.alive": True}, MEMBER_1), PENSION, None
    )
    assert leak.detail == "paid 20000 fen; the standard is 10000 fen (the version in force)"


def test_a_death_or_an_exit_is_the_leak_itself_not_also_a_failed_rule() -> None:
    dead = _facts({"member.age": 70, "member.alive": False}, MEMBER_1)
    assert _kinds(find_leaks(_paid(PENSION_FEN, MEMBER_1), dead, PENSION, None)) == [LeakKind.PAID_AFTER_DEATH]
    exited = _facts({"household.status": "exited_no_policies"})
    assert _kinds(find_leaks(_paid(), exited, DIBAO, None)) == [LeakKind.PAID_AFTER_EXIT]
    both = _facts({"member.alive": False, "household.status": "exited_no_policies", "member.age": 70}, MEMBER_1)
    assert _kinds(find_leaks(_paid(PENSION_FEN, MEMBER_1), both, PENSION, None)) == [
        LeakKind.PAID_AFTER_DEATH,
        LeakKind.PAID_AFTER_EXIT,
    ]


def test_an_account_shared_or_in_another_name_is_a_leak_of_its_own() -> None:
    shared = Account(MEMBER_1, holder_is_member=True, other_households=2)
    [leak] = find_leaks(_paid(), _facts(), DIBAO, shared)
    assert (leak.kind, leak.detail) == (
        LeakKind.SHARED_ACCOUNT,
        "the account paid into is also the active account of 2 other household(s)",
    )
    for outside in (Account(None, False, 0), Account(MEMBER_3, False, 0)):
        assert _kinds(find_leaks(_paid(), _facts(), DIBAO, outside)) == [LeakKind.HOLDER_OUTSIDE_HOUSEHOLD]
    everything = find_leaks(_paid(1), _facts(), DIBAO, Account(None, False, 1))
    assert _kinds(everything) == [LeakKind.WRONG_AMOUNT, LeakKind.SHARED_ACCOUNT, LeakKind.HOLDER_OUTSIDE_HOUSEHOLD]


# --- checks over HTTP ----------------------------------------------------------------------------------------


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("subsidies", await sqlite_url("subsidies")) as (app, client):
        await install_catalogue(app)
        for household_id, area_code in AREAS.items():
            await register(app, household_id, area_code)
        yield app, client


async def _payee(app: Any, household_id: UUID, account: str, holder: UUID | None, *, replaced: bool = False) -> UUID:
    """A payee account (惠民惠农一卡通) as the bank's part keeps it: `account` stands for the number's blind index."""
    payee_id = uuid4()
    async with app.state.sessions() as s, s.begin():
        await s.execute(
            insert(Payee).values(
                id=payee_id, household_id=household_id, holder_key="-", bank_code="RCB", account_kid="dev-1",
                account_ciphertext=b"sealed", account_hash=account, account_masked="6217 **** **** 1234",
                holder_name_ciphertext=b"sealed", holder_name_masked="张*", holder_member_id=holder,
                recorded_by="cashier-1", recorded_at=NOW, replaced_at=NOW if replaced else None,
            )
        )  # fmt: skip
    return payee_id


async def _paid_by_bank(app: Any, household_id: UUID, amount_fen: int, payee_id: UUID | None, **more: Any) -> UUID:
    """A payment as reconciliation records one from the bank's result: into a payee's account."""
    payment_id = uuid4()
    values = {"policy_code": "dibao", "period": "2020-06", "member_id": None, "holder_key": "-", "status": "paid"}
    values |= more
    async with app.state.sessions() as s, s.begin():
        await s.execute(
            insert(Payment).values(
                id=payment_id, household_id=household_id, amount_fen=amount_fen, idempotency_key=f"line:{uuid4()}",
                payee_id=payee_id, member_count=1, area_code=AREAS[household_id], paid_by="cashier-1", paid_at=NOW,
                **values,
            )
        )  # fmt: skip
    return payment_id


async def _check(client: Any, headers: dict[str, str] = FINANCE, **body: Any) -> dict[str, Any]:
    r = await client.post(
        "/v1/leakage-checks", json={"period": "2020-06", "policy_code": "dibao", **body}, headers=headers
    )
    assert r.status_code == 201, r.text
    check: dict[str, Any] = r.json()
    return check


async def _leaks(client: Any, check: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    """Every leak of a check, a page of two at a time."""
    leaks: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 2, **params, **({"cursor": cursor} if cursor else {})}
        r = await client.get(f"/v1/leakage-checks/{check['id']}/leaks", params=query, headers=AUDITOR)
        assert r.status_code == 200, r.text
        leaks, cursor = leaks + r.json()["items"], r.json()["next_cursor"]
        if cursor is None:
            return leaks


def _found(leaks: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(leak["payment_id"], leak["kind"]) for leak in leaks}


async def test_dibao_paid_by_hand_to_a_household_never_on_dibao_is_a_serious_finding_for_the_commission(
    api: Any, sqlite_url: Any
) -> None:
    app, client = api
    paid = await pay(client, HOUSEHOLD_A, DIBAO_FEN)  # accepted: a payment made is recorded
    check = await _check(client)
    assert (check["policy_code"], check["period"], check["payment_count"], check["leak_count"]) == (
        "dibao",
        "2020-06",
        1,
        1,
    )
    [leak] = await _leaks(client, check)
    detail = "the rule did not entitle the holder: household.allowance is none (must be dibao): not met"
    assert leak == {
        "id": leak["id"],
        "check_id": check["id"],
        "kind": "paid_not_entitled",
        "payment_id": paid["id"],
        "household_id": str(HOUSEHOLD_A),
        "area_code": AREAS[HOUSEHOLD_A],
        "policy_code": "dibao",
        "period": "2020-06",
        "detail": detail,
    }
    [published] = await outbox(app, LEAK_FOUND)
    # Paid by hand: who recorded it answers for it, by login (subsidies knows no names), in the programme's 财政所.
    cashier = {"person_id": "cashier-1", "name": "cashier-1", "unit": "财政所 dibao", "role": "payment_preparer"}
    found_on = district_today(datetime.fromisoformat(check["checked_at"])).isoformat()
    assert published == {
        "key": str(HOUSEHOLD_A),
        "leak_id": leak.pop("id"),
        **leak,
        "found_on": found_on,
        "responsible": cashier,
    }
    event = SubsidyLeakFound.model_validate({k: v for k, v in published.items() if k != "key"})
    async with running_app("audit", await sqlite_url("audit")) as (audit, _):  # audit consumes it
        await apply_event(audit, event)
        later = datetime.now(UTC) + timedelta(days=8)
        async with audit.state.sessions() as s, s.begin():
            await hand_over_serious_findings(s, recorded_before=later, now=later)
        async with audit.state.sessions() as s:
            finding = (await s.scalars(select(Finding))).one()
            referral = (await s.scalars(select(DisciplineReferral))).one()
    assert (finding.subject_kind, finding.subject_id, finding.code, finding.severity) == (
        "payment",
        paid["id"],
        "subsidy_paid_not_entitled",
        "serious",
    )
    assert (referral.finding_id, referral.reason) == (finding.id, "weekly_handover")


async def test_each_kind_of_leak_is_found_among_a_months_payments(api: Any) -> None:
    app, client = api
    await add_members(app, HOUSEHOLD_A, (MEMBER_1, date(1980, 1, 1)))
    await add_members(app, HOUSEHOLD_B, (MEMBER_2, date(1982, 1, 1)))
    await add_members(app, HOUSEHOLD_C, (MEMBER_3, date(1984, 1, 1)))
    for household_id in AREAS:
        await on_allowance(app, household_id, MinimumAllowance.DIBAO)
    await exit_without_policies(app, HOUSEHOLD_FAR, since=date(2020, 3, 1))
    # A and B share one account (an officer collecting for both); C's account is in no member's name.
    shared_a = await _payee(app, HOUSEHOLD_A, "hash-shared", MEMBER_1)
    shared_b = await _payee(app, HOUSEHOLD_B, "hash-shared", MEMBER_2)
    outside = await _payee(app, HOUSEHOLD_C, "hash-c", None)
    a = await _paid_by_bank(app, HOUSEHOLD_A, DIBAO_FEN, shared_a)
    b = await _paid_by_bank(app, HOUSEHOLD_B, 2 * DIBAO_FEN, shared_b)  # one living member, paid for two
    c = await _paid_by_bank(app, HOUSEHOLD_C, DIBAO_FEN, outside)
    far = await pay(client, HOUSEHOLD_FAR, DIBAO_FEN)
    check = await _check(client)
    found = _found(await _leaks(client, check))
    assert found == {
        (str(a), "shared_account"),
        (str(b), "shared_account"),
        (str(b), "wrong_amount"),
        (str(c), "holder_outside_household"),
        (far["id"], "paid_after_exit"),
    }
    assert (check["payment_count"], check["leak_count"]) == (4, 5)
    assert len(await outbox(app, LEAK_FOUND)) == 5
    only_shared = await _leaks(client, check, kind="shared_account")
    assert {leak["payment_id"] for leak in only_shared} == {str(a), str(b)}
    in_village = await _leaks(client, check, area_code=AREAS[HOUSEHOLD_C])  # A and C share a village
    assert _found(in_village) == {(str(a), "shared_account"), (str(c), "holder_outside_household")}


async def test_an_account_replaced_by_another_household_is_not_shared(api: Any) -> None:
    app, client = api
    await add_members(app, HOUSEHOLD_A, (MEMBER_1, date(1980, 1, 1)))
    await on_allowance(app, HOUSEHOLD_A, MinimumAllowance.DIBAO)
    await _payee(app, HOUSEHOLD_B, "hash-a", MEMBER_2, replaced=True)  # B's old card, since corrected
    await _paid_by_bank(app, HOUSEHOLD_A, DIBAO_FEN, await _payee(app, HOUSEHOLD_A, "hash-a", MEMBER_1))
    assert (await _check(client))["leak_count"] == 0


async def test_a_payment_after_a_members_death(api: Any) -> None:
    app, client = api
    await add_members(app, HOUSEHOLD_A, (MEMBER_1, date(1950, 1, 1)), (MEMBER_2, date(1952, 1, 1)))
    await died(app, HOUSEHOLD_A, MEMBER_1, date(2019, 12, 20))
    for member in (MEMBER_1, MEMBER_2):
        await _paid_by_bank(app, HOUSEHOLD_A, PENSION_FEN, None, policy_code="pension_premium_subsidy",
                            period="2020", member_id=member, holder_key=str(member))  # fmt: skip
    check = await _check(client, policy_code="pension_premium_subsidy", period="2020")
    [leak] = await _leaks(client, check)
    assert (leak["kind"], leak["detail"]) == ("paid_after_death", f"member {MEMBER_1} had died before the period began")
    assert check["payment_count"] == 2


async def test_a_household_programme_paid_for_a_member_who_died_is_the_wrong_amount(api: Any) -> None:
    app, client = api
    await add_members(app, HOUSEHOLD_A, (MEMBER_1, date(1950, 1, 1)), (MEMBER_2, date(1952, 1, 1)))
    await on_allowance(app, HOUSEHOLD_A, MinimumAllowance.DIBAO)
    await died(app, HOUSEHOLD_A, MEMBER_1, date(2020, 5, 9))
    await pay(client, HOUSEHOLD_A, 2 * DIBAO_FEN, period="2020-05")  # both alive on May 1st
    await pay(client, HOUSEHOLD_A, 2 * DIBAO_FEN, period="2020-06")  # one living member on June 1st
    may = await _check(client, period="2020-05")
    june = await _check(client)
    assert may["leak_count"] == 0
    [leak] = await _leaks(client, june)
    assert (leak["kind"], leak["detail"]) == (
        "wrong_amount",
        "paid 51600 fen; the standard is 25800 fen (1 living member(s) × 25800 fen)",
    )


async def test_a_member_programme_paid_to_someone_not_of_the_household(api: Any) -> None:
    app, client = api
    await add_members(app, HOUSEHOLD_B, (MEMBER_2, date(1960, 1, 1)))
    stranger = await _paid_by_bank(app, HOUSEHOLD_A, PENSION_FEN, None, policy_code="pension_premium_subsidy",
                                   period="2020", member_id=MEMBER_2, holder_key=str(MEMBER_2))  # fmt: skip
    check = await _check(client, policy_code="pension_premium_subsidy", period="2020")
    assert _found(await _leaks(client, check)) == {(str(stranger), "paid_not_entitled")}


async def test_a_leak_is_kept_and_published_once_however_often_it_is_found(api: Any) -> None:
    app, client = api
    await pay(client, HOUSEHOLD_A, DIBAO_FEN)
    first = await _check(client)
    second = await _check(client, headers=auth("inspector", sub="inspector-3"))
    assert (first["leak_count"], second["leak_count"], second["payment_count"]) == (1, 0, 1)
    assert (await count(app, Leak), len(await outbox(app, LEAK_FOUND))) == (1, 1)
    assert await _leaks(client, second) == []
    assert len(await _leaks(client, first)) == 1


async def test_reversed_and_recovered_payments_are_not_judged(api: Any) -> None:
    app, client = api
    await _paid_by_bank(app, HOUSEHOLD_A, DIBAO_FEN, None, status="reversed", period="2020-05")
    await _paid_by_bank(app, HOUSEHOLD_A, DIBAO_FEN, None, status="recovered")
    for period in ("2020-05", "2020-06"):
        assert (await _check(client, period=period))["payment_count"] == 0
    assert await count(app, Leak) == 0


async def test_a_check_of_every_programme_judges_those_the_catalogue_holds(api: Any) -> None:
    app, client = api
    dibao = await pay(client, HOUSEHOLD_A, DIBAO_FEN)
    await _paid_by_bank(app, HOUSEHOLD_B, 5_000, None, policy_code="industry_award")  # no rule to judge it by
    r = await client.post("/v1/leakage-checks", json={"period": "2020-06"}, headers=auth("discipline_commission"))
    assert r.status_code == 201, r.text
    check = r.json()
    assert (check["policy_code"], check["payment_count"], check["leak_count"]) == (None, 1, 1)
    assert _found(await _leaks(client, check)) == {(dibao["id"], "paid_not_entitled")}


async def test_checks_are_listed_newest_first_and_read_by_id(api: Any) -> None:
    _, client = api
    june = await _check(client)
    may = await _check(client, period="2020-05")
    year = await _check(client, policy_code="pension_premium_subsidy", period="2020")
    r = await client.get("/v1/leakage-checks", params={"limit": 2}, headers=AUDITOR)
    assert [c["id"] for c in r.json()["items"]] == [year["id"], may["id"]]
    r = await client.get("/v1/leakage-checks", params={"cursor": r.json()["next_cursor"]}, headers=AUDITOR)
    assert [c["id"] for c in r.json()["items"]] == [june["id"]]
    r = await client.get("/v1/leakage-checks", params={"period": "2020-05", "policy_code": "dibao"}, headers=AUDITOR)
    assert [c["id"] for c in r.json()["items"]] == [may["id"]]
    r = await client.get(f"/v1/leakage-checks/{june['id']}", headers=auth("discipline_commission"))
    assert r.status_code == 200 and r.json() == june


async def test_a_check_retried_with_its_key_is_answered_not_repeated(api: Any) -> None:
    app, client = api
    await pay(client, HOUSEHOLD_A, DIBAO_FEN)
    key = {**FINANCE, "Idempotency-Key": "leak-check-1"}
    body = {"period": "2020-06", "policy_code": "dibao"}
    first = await client.post("/v1/leakage-checks", json=body, headers=key)
    again = await client.post("/v1/leakage-checks", json=body, headers=key)
    assert (first.status_code, again.status_code, again.headers["Idempotency-Replayed"]) == (201, 200, "true")
    assert again.json() == first.json()
    assert await count(app, LeakageCheck) == 1


def _next_month() -> str:
    today = datetime.now(UTC).date()
    return f"{today.year + today.month // 12}-{today.month % 12 + 1:02d}"


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        ({"policy_code": "industry_award"}, FINANCE, 422, "unknown_policy"),
        ({"period": "2019-12"}, FINANCE, 422, "no_version_in_force"),
        ({"period": "2020"}, FINANCE, 422, "period_format"),
        ({"period": _next_month()}, FINANCE, 422, "period_not_begun"),
        ({"period": _next_month(), "policy_code": None}, FINANCE, 422, "period_not_begun"),
        ({"period": "2020-13"}, FINANCE, 422, None),
        ({"policy_code": "pocket_money"}, FINANCE, 422, None),
        ({"unexpected": 1}, FINANCE, 422, None),
        ({}, auth("township_office", area="371523101"), 403, None),
        ({}, auth("helper_cadre", area="371523101"), 403, None),
        ({}, {}, 401, None),
    ],
)
async def test_a_bad_check_is_a_problem_and_writes_nothing(
    api: Any, body: dict[str, Any], headers: dict[str, str], status: int, code: str | None
) -> None:
    app, client = api
    await pay(client, HOUSEHOLD_A, DIBAO_FEN)
    request = {"period": "2020-06", "policy_code": "dibao", **body}
    problem = assert_problem(await client.post("/v1/leakage-checks", json=request, headers=headers), status)
    if code is not None:
        assert code in [e["code"] for e in problem["errors"]]
    assert (await count(app, LeakageCheck), await count(app, Leak), await outbox(app, LEAK_FOUND)) == (0, 0, [])


async def test_unknown_checks_and_bad_filters_are_refused(api: Any) -> None:
    _, client = api
    unknown = uuid4()
    assert_problem(await client.get(f"/v1/leakage-checks/{unknown}", headers=AUDITOR), 404)
    assert_problem(await client.get(f"/v1/leakage-checks/{unknown}/leaks", headers=AUDITOR), 404)
    check = await _check(client)
    for params in ({"kind": "stolen"}, {"area_code": "3715"}, {"cursor": "bm90LWEtY3Vyc29y"}):
        r = await client.get(f"/v1/leakage-checks/{check['id']}/leaks", params=params, headers=AUDITOR)
        assert_problem(r, 422)
    assert_problem(await client.get("/v1/leakage-checks", headers=auth("township_office", area="371523101")), 403)


# --- scheduled per cycle ---------------------------------------------------------------------------------------


HOURLY = schedule.Cadence(interval=timedelta(hours=1), within=timedelta(days=92))


async def _cycle(
    app: Any, status: str, period: str = "2020-06", *, paid_at: datetime | None = NOW, closed_at: datetime | None = NOW
) -> UUID:
    """A cycle of `status`, paid at `paid_at` (if paid or closed) and closed at `closed_at` (if closed)."""
    cycle_id = uuid4()
    settled = status in ("paid", "closed")
    async with app.state.sessions() as s, s.begin():
        await s.execute(
            insert(Cycle).values(
                id=cycle_id, programme_code="dibao", period=period, status=status, created_by="cashier-1",
                created_at=NOW, paid_at=paid_at if settled else None,
                closed_at=closed_at if status == "closed" else None,
            )
        )  # fmt: skip
    return cycle_id


async def test_settled_cycles_are_checked_once_an_interval_as_the_scheduler(api: Any) -> None:
    app, client = api
    await on_allowance(app, HOUSEHOLD_B, MinimumAllowance.DIBAO)  # entitled, unpaid: a gap
    await pay(client, HOUSEHOLD_A, DIBAO_FEN)  # paid, not entitled: a leak
    paid = await _cycle(app, "paid")
    closed = await _cycle(app, "closed", period="2020-05")
    await _cycle(app, "approved", period="2020-04")  # not answered by the bank yet: not checked
    hour = HOURLY.interval
    run = await schedule.run_cycle_checks(app.state.sessions, now=NOW, cadence=HOURLY)
    assert run == schedule.CycleCheckRun(cycles=2, gaps=2, leaks=1, failed=0)
    async with app.state.sessions() as s:
        checks = (await s.scalars(select(CoverageCheck).order_by(col(CoverageCheck.period)))).all()
        leakage_checks = (await s.scalars(select(LeakageCheck).order_by(col(LeakageCheck.period)))).all()
    assert [(c.cycle_id, c.period, c.checked_by, c.checked_at, c.area_code) for c in checks] == [
        (closed, "2020-05", "scheduler", NOW, None),
        (paid, "2020-06", "scheduler", NOW, None),
    ]
    assert [(c.policy_code, c.period, c.checked_by, c.leak_count) for c in leakage_checks] == [
        ("dibao", "2020-05", "scheduler", 0),
        ("dibao", "2020-06", "scheduler", 1),
    ]
    soon = await schedule.run_cycle_checks(app.state.sessions, now=NOW + hour - timedelta(seconds=1), cadence=HOURLY)
    assert soon == schedule.CycleCheckRun()  # checked within the interval: not again
    again = await schedule.run_cycle_checks(app.state.sessions, now=NOW + hour, cadence=HOURLY)
    assert again == schedule.CycleCheckRun(cycles=2, gaps=2, leaks=0, failed=0)  # the leak is not repeated
    r = await client.get("/v1/coverage-checks", params={"cycle_id": str(paid)}, headers=AUDITOR)
    assert [c["checked_by"] for c in r.json()["items"]] == ["scheduler", "scheduler"]
    assert len(await outbox(app, LEAK_FOUND)) == 1


async def test_a_checked_cycles_gap_names_who_prepared_its_list(api: Any) -> None:
    app, _ = api
    await on_allowance(app, HOUSEHOLD_B, MinimumAllowance.DIBAO)  # entitled, unpaid: a gap
    paid = await _cycle(app, "paid")
    async with app.state.sessions() as s, s.begin():
        prepared = {"computed_by": "preparer-1", "submitted_by": "submitter-1"}
        await s.execute(update(Cycle).where(col(Cycle.id) == paid).values(**prepared))
    await schedule.run_cycle_checks(app.state.sessions, now=NOW, cadence=HOURLY)
    [gap] = await outbox(app, GAP_FOUND)
    # Who last computed the list answers for the gap (by login: subsidies knows no names), found the check's day.
    preparer = {"person_id": "preparer-1", "name": "preparer-1", "unit": "财政所 dibao", "role": "payment_preparer"}
    assert (gap["household_id"], gap["found_on"], gap["responsible"]) == (
        str(HOUSEHOLD_B),
        district_today(NOW).isoformat(),
        preparer,
    )


async def test_a_cycle_whose_check_fails_is_counted_and_the_others_still_checked(api: Any) -> None:
    app, _ = api
    await _cycle(app, "paid")
    await _cycle(app, "paid", period="2019-12")  # before the programme's first version: its check is refused
    run = await schedule.run_cycle_checks(app.state.sessions, now=NOW, cadence=HOURLY)
    assert run == schedule.CycleCheckRun(cycles=1, gaps=0, leaks=0, failed=1)


async def test_only_cycles_paid_or_closed_within_the_check_days_are_checked(api: Any) -> None:
    app, _ = api
    days = HOURLY.within
    lately = await _cycle(app, "paid", paid_at=NOW - days + timedelta(days=1))
    await _cycle(app, "paid", period="2020-05", paid_at=NOW - days)  # paid 92 days ago: no longer
    closed_lately = await _cycle(
        app, "closed", period="2020-04", paid_at=NOW - timedelta(days=400), closed_at=NOW - timedelta(days=1)
    )
    await _cycle(app, "closed", period="2020-03", paid_at=None, closed_at=NOW - days - timedelta(days=1))

    assert await _due(app, NOW) == sorted([lately, closed_lately])
    run = await schedule.run_cycle_checks(app.state.sessions, now=NOW, cadence=HOURLY)
    assert run.cycles == 2
    async with app.state.sessions() as s:
        checked = (await s.scalars(select(col(CoverageCheck.cycle_id)))).all()
    assert sorted(checked) == sorted([lately, closed_lately])
    assert await _due(app, NOW + timedelta(days=2)) == [closed_lately]  # the first one's days are over


async def test_an_approved_cycle_the_bank_answered_with_failures_is_checked_for_its_gaps(api: Any) -> None:
    app, _ = api
    answered = await _cycle(app, "approved")
    await _cycle(app, "approved", period="2020-05")  # approved, nothing back from the bank yet
    async with app.state.sessions() as s, s.begin():
        await s.execute(update(Cycle).values(approved_at=NOW - timedelta(days=3)))
        await s.execute(
            insert(DisbursementBatch).values(
                id=uuid4(), cycle_id=answered, sequence=1, status="reconciled", line_count=2, total_fen=2 * DIBAO_FEN,
                built_by="cashier-1", built_at=NOW,
            )
        )  # fmt: skip
    assert await _due(app, NOW) == [answered]
    assert await _due(app, NOW + HOURLY.within) == []  # its days over, and still not the one never sent


async def _due(app: Any, now: datetime) -> list[UUID]:
    async with app.state.sessions() as s:
        return await schedule.due_cycles(s, now=now, cadence=HOURLY)


async def test_the_scheduled_worker_is_off_at_an_interval_of_zero() -> None:
    worker = schedule.scheduled_cycle_checks(
        SubsidiesSettings(database_url="unused", coverage_check_interval_seconds=0), clock=lambda: NOW
    )
    await worker(None)  # type: ignore[arg-type]  # returns at once: it never touches the runtime


async def test_the_running_service_checks_settled_cycles_on_its_own(sqlite_url: Any) -> None:
    url = await sqlite_url("subsidies")
    async with running_app("subsidies", url, coverage_check_interval_seconds=1) as (app, client):
        await install_catalogue(app)
        await register(app, HOUSEHOLD_A, AREAS[HOUSEHOLD_A])
        await pay(client, HOUSEHOLD_A, DIBAO_FEN)
        await _cycle(app, "paid", paid_at=utcnow())  # the service runs on the wall clock
        for _ in range(60):
            if await count(app, Leak):
                break
            await asyncio.sleep(0.1)
        assert await count(app, Leak) == 1
