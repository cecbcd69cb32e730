"""The facts' dated history on a migrated SQLite file: a period is judged by each fact as of its first day however many
changes came after or arrived late, facts of events without a status (monitoring, housing, disability, schooling,
medical cover) by their own days, nobody dead before the period is entitled (a household with no living member
neither), whatever a rule says, and the explanation judges as the cycle does and says where each holder stands in
it. Migration 0011 backfills the history from the facts kept before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlmodel import col

from services.subsidies.domain.facts import holder_facts
from services.subsidies.models import FactChange, HouseholdFacts, MemberFacts, Programme
from services.subsidies.rules.fact_history import SINCE_EVER
from shared.api.clock import request_time
from shared.contracts.households import (
    EpisodeDecision,
    HouseholdRegistered,
    HouseholdStatus,
    HouseholdStatusChanged,
    HousingAppraised,
    HousingRenovated,
    MemberAdded,
    MemberDied,
    MemberDisabilityRecorded,
    MemberMedicalCoverageChanged,
    MemberSchoolingChanged,
    MinimumAllowanceChanged,
    MonitoringEpisodeClosed,
    MonitoringEpisodeOpened,
    RiskFlagRaised,
    RiskKind,
)
from tests.support import apply_event, auth, migrate_over, running_app

VILLAGE = "371523101201"
HOME, LONE = UUID(int=1), UUID(int=2)
HEAD, STUDENT, SISTER, ELDER = (UUID(int=n) for n in (11, 12, 13, 21))
CLERK = auth("finance_officer", sub="clerk")
CASHIER = auth("finance_officer", sub="cashier")
DIRECTOR = auth("district_office", sub="director")
AUDITOR = auth("auditor", sub="auditor-1")
S = HouseholdStatus


class Clock:
    def __init__(self, day: date) -> None:
        self.on(day)

    def on(self, day: date) -> None:
        self.now = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)


@pytest.fixture
async def api(sqlite_url: Any) -> AsyncIterator[tuple[FastAPI, AsyncClient, Clock]]:
    """HOME, registered with its head and two daughters in school age; the request clock on 2 June 2020."""
    clock = Clock(date(2020, 6, 2))
    async with running_app("subsidies", await sqlite_url("subsidies")) as (app, client):
        app.dependency_overrides[request_time] = lambda: clock.now
        await _registered(app, HOME, (HEAD, date(1970, 1, 1)), (STUDENT, date(2002, 5, 1)), (SISTER, date(2003, 8, 1)))
        yield app, client, clock


async def _registered(app: FastAPI, household: UUID, *members: tuple[UUID, date]) -> None:
    await apply_event(
        app,
        HouseholdRegistered(
            household_id=household, household_code=f"CP-{household.int}", area_code=VILLAGE, member_count=len(members)
        ),
    )
    for member, born in members:
        relationship = "head" if member in (HEAD, ELDER) else "daughter"
        added = MemberAdded(
            household_id=household, member_id=member, relationship_to_head=relationship, birth_date=born
        )
        await apply_event(app, added)


def _status(frm: S, to: S, on: date) -> HouseholdStatusChanged:
    return HouseholdStatusChanged(
        household_id=HOME,
        area_code=VILLAGE,
        from_status=frm,
        to_status=to,
        reason="officer_decision",
        effective_on=on,
        changed_by="officer-1",
    )


def _dibao(on: date, household: UUID = HOME, status: str = "dibao") -> MinimumAllowanceChanged:
    return MinimumAllowanceChanged(household_id=household, status=status, effective_on=on)


def _at(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


async def _enrol(app: FastAPI, member: UUID, on: date, enrolment: str = "enrolled") -> None:
    changed = MemberSchoolingChanged(
        household_id=HOME, member_id=member, enrolment=enrolment, school_stage="vocational"
    )
    await apply_event(app, changed, at=_at(on))


async def _values(app: FastAPI, code: str, period: str, household: UUID = HOME) -> dict[UUID | None, dict[str, Any]]:
    """The holders' facts of the household as of the period's first day, by member (None: the household)."""
    async with app.state.sessions() as s:
        programme = await s.get(Programme, code)
        assert programme is not None
        chunks = [c async for c in holder_facts(s, programme, period, household_ids=[household])]
    return {h.member_id: dict(h.values) for chunk in chunks for h in chunk}


async def _explain(client: AsyncClient, code: str, period: str, household: UUID = HOME) -> dict[str, Any]:
    r = await client.get(
        f"/v1/households/{household}/eligibility", params={"programme": code, "period": period}, headers=AUDITOR
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _holder(body: dict[str, Any], member: UUID | None = None) -> dict[str, Any]:
    wanted = None if member is None else str(member)
    holder: dict[str, Any] = next(h for h in body["holders"] if h["member_id"] == wanted)
    return holder


def _failed(holder: dict[str, Any]) -> list[str]:
    return [c["reason"] for c in holder["checks"] if not c["holds"]]


async def _history(app: FastAPI, household: UUID = HOME) -> list[tuple[str, str, object, date]]:
    async with app.state.sessions() as s:
        rows = await s.scalars(
            select(FactChange)
            .where(col(FactChange.household_id) == household)
            .order_by(col(FactChange.holder_key), col(FactChange.fact), col(FactChange.since))
        )
        return [(r.holder_key, r.fact, r.value, r.since) for r in rows.all()]


async def _cycle(client: AsyncClient, code: str, period: str, fund_fen: int = 10_000_000) -> dict[str, Any]:
    """The programme's cycle of the period, its year funded and its list computed."""
    funds = {"year": int(period[:4]), "amount_fen": fund_fen, "source": "区财政 2020-18号"}
    assert (await client.post(f"/v1/programmes/{code}/funds", json=funds, headers=DIRECTOR)).status_code == 201
    r = await client.post("/v1/cycles", json={"programme_code": code, "period": period}, headers=CLERK)
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/cycles/{r.json()['id']}/compute", headers=CLERK)
    assert r.status_code == 200, r.text
    cycle: dict[str, Any] = r.json()
    return cycle


async def _listed(client: AsyncClient, cycle: dict[str, Any]) -> list[dict[str, Any]]:
    r = await client.get(f"/v1/cycles/{cycle['id']}/entitlements", headers=AUDITOR)
    items: list[dict[str, Any]] = r.json()["items"]
    return items


# --- a period is judged by the facts of its first day ----------------------------------------------------------


async def test_a_period_is_judged_by_the_status_of_its_first_day_however_many_changes_came_after(api: Any) -> None:
    app, client, _ = api
    await apply_event(app, _dibao(date(2019, 1, 1)))
    await apply_event(app, _status(S.IN_POVERTY, S.EXITED_NO_POLICIES, date(2020, 3, 10)))
    await apply_event(app, _status(S.EXITED_NO_POLICIES, S.RELAPSED, date(2020, 5, 5)))
    for period, status, entitled in (
        ("2020-02", "in_poverty", True),
        ("2020-04", "exited_no_policies", False),
        ("2020-06", "relapsed", True),
    ):
        household = _holder(await _explain(client, "dibao", period))
        assert (household["entitled"], household["amount_fen"]) == (entitled, 3 * 25_800 if entitled else 0)
        [check] = [c for c in household["checks"] if c["fact"] == "household.status"]
        assert check["actual"] == status, period
    cycle = await _cycle(client, "dibao", "2020-02")
    assert (cycle["entitled_count"], cycle["total_fen"]) == (1, 3 * 25_800)
    kept = await _household(app)
    assert (kept.status, kept.previous_status, kept.status_since) == (
        "relapsed",
        "exited_no_policies",
        date(2020, 5, 5),
    )


async def test_a_change_arriving_late_takes_its_place_by_its_date(api: Any) -> None:
    app, _, _ = api
    await apply_event(app, _status(S.MONITORED, S.EXITED_NO_POLICIES, date(2020, 3, 10)))
    await apply_event(app, _status(S.EXITED_NO_POLICIES, S.RELAPSED, date(2020, 5, 5)))
    await apply_event(app, _status(S.IN_POVERTY, S.MONITORED, date(2020, 1, 15)))  # older news, last to arrive
    await apply_event(app, _status(S.MONITORED, S.EXITED_NO_POLICIES, date(2020, 3, 10)))  # re-sent: no change
    statuses = {
        p: (await _values(app, "dibao", p))[None]["household.status"] for p in ("2020-01", "2020-02", "2020-04")
    }
    assert statuses == {"2020-01": "in_poverty", "2020-02": "monitored", "2020-04": "exited_no_policies"}
    assert [(value, since) for _, fact, value, since in await _history(app) if fact == "household.status"] == [
        ("in_poverty", SINCE_EVER),  # the earliest change known says what it was before
        ("monitored", date(2020, 1, 15)),
        ("exited_no_policies", date(2020, 3, 10)),
        ("relapsed", date(2020, 5, 5)),
    ]
    await apply_event(app, _dibao(date(2020, 8, 1), status="none"))
    await apply_event(app, _dibao(date(2020, 3, 1)))  # 低保 granted in March, heard of after it ended in August
    allowances = {p: (await _values(app, "dibao", p))[None]["household.allowance"] for p in ("2020-03", "2020-09")}
    assert allowances == {"2020-03": "dibao", "2020-09": "none"}
    household = await _household(app)
    assert (household.allowance, household.previous_allowance, household.allowance_since) == (
        "none",
        "dibao",
        date(2020, 8, 1),
    )


async def test_a_second_change_of_a_day_counts_only_when_it_follows_from_the_first(api: Any) -> None:
    app, _, _ = api
    await apply_event(app, _status(S.IN_POVERTY, S.MONITORED, date(2020, 4, 1)))
    await apply_event(app, _status(S.MONITORED, S.RELAPSED, date(2020, 4, 1)))  # the same day, from it
    await apply_event(app, _status(S.IN_POVERTY, S.MONITORED, date(2020, 4, 1)))  # the first re-sent: superseded
    assert (await _values(app, "dibao", "2020-05"))[None]["household.status"] == "relapsed"


async def test_a_rightful_payment_stays_rightful_after_later_changes(api: Any) -> None:
    app, client, _ = api
    await apply_event(app, _dibao(date(2019, 1, 1)))
    body = {"household_id": str(HOME), "policy_code": "dibao", "period": "2020-02", "amount_fen": 3 * 25_800}
    paid = await client.post("/v1/payments", json=body, headers={**CLERK, "Idempotency-Key": "feb-1"})
    assert paid.status_code == 201, paid.text
    await apply_event(app, _status(S.IN_POVERTY, S.EXITED_NO_POLICIES, date(2020, 3, 10)))
    await apply_event(app, _status(S.EXITED_NO_POLICIES, S.RELAPSED, date(2020, 5, 5)))
    check = await client.post(
        "/v1/leakage-checks", json={"policy_code": "dibao", "period": "2020-02"}, headers=DIRECTOR
    )
    assert check.status_code == 201, check.text
    assert (check.json()["payment_count"], check.json()["leak_count"]) == (1, 0)


async def _household(app: FastAPI, household: UUID = HOME) -> HouseholdFacts:
    async with app.state.sessions() as s:
        found: HouseholdFacts | None = await s.get(HouseholdFacts, household)
    assert found is not None
    return found


# --- facts of events without a status, by their own days -----------------------------------------------------------


async def test_housing_monitoring_disability_schooling_and_cover_count_from_their_own_days(api: Any) -> None:
    app, _, _ = api
    appraisal = uuid4()
    await apply_event(
        app,
        HousingAppraised(household_id=HOME, appraisal_id=appraisal, area_code=VILLAGE, grade="D",
                         appraised_on=date(2020, 4, 10), renovation_due=date(2020, 10, 1)),
    )  # fmt: skip
    await apply_event(
        app,
        HousingRenovated(household_id=HOME, appraisal_id=appraisal, new_appraisal_id=uuid4(), new_grade="B",
                         completed_on=date(2020, 9, 3)),
    )  # fmt: skip
    await apply_event(
        app,
        MemberDisabilityRecorded(household_id=HOME, member_id=HEAD, disability_type="physical", grade=2,
                                 certified_on=date(2020, 5, 20)),
    )  # fmt: skip
    # No day of their own: the first value heard holds as far back as subsidies knows the member, a later change
    # from the day the register announced it, in the district (UTC+8: 30 Jun 17:00 UTC is 1 July).
    await apply_event(
        app,
        MemberSchoolingChanged(household_id=HOME, member_id=STUDENT, enrolment="enrolled", school_stage="vocational"),
        at=datetime(2020, 2, 29, 17, tzinfo=UTC),
    )
    await apply_event(
        app,
        MemberSchoolingChanged(household_id=HOME, member_id=STUDENT, enrolment="dropped_out", school_stage=None),
        at=datetime(2020, 6, 30, 17, tzinfo=UTC),
    )
    await apply_event(
        app,
        MemberMedicalCoverageChanged(household_id=HOME, member_id=HEAD, medical_insured=True, premium_subsidised=True,
                                     family_doctor_contract=False),
        at=_at(date(2020, 7, 2)),
    )  # fmt: skip
    seen = {p: await _values(app, "disability_living_subsidy", p) for p in ("2020-02", "2020-03", "2020-06", "2020-10")}
    assert [seen[p][HEAD]["household.housing_grade"] for p in seen] == [None, None, "D", "B"]
    assert [seen[p][HEAD]["member.disability_grade"] for p in seen] == [None, None, 2, 2]
    assert [seen[p][STUDENT]["member.enrolment"] for p in seen] == ["enrolled", "enrolled", "enrolled", "dropped_out"]
    assert [seen[p][HEAD]["member.medical_insured"] for p in seen] == [True, True, True, True]
    head = await _member(app, HEAD)
    assert (head.disability_grade, head.medical_insured, head.premium_subsidised) == (2, True, True)


async def test_monitoring_counts_each_episode_from_its_opening_to_its_closing_whatever_order_its_events_come_in(
    api: Any,
) -> None:
    app, client, _ = api
    first, second = uuid4(), uuid4()

    def flag(episode: UUID, kind: RiskKind, on: date) -> RiskFlagRaised:
        return RiskFlagRaised(
            household_id=HOME, flag_id=uuid4(), episode_id=episode, area_code=VILLAGE, kind=kind, raised_on=on
        )

    await apply_event(
        app,
        MonitoringEpisodeOpened(household_id=HOME, episode_id=first, area_code=VILLAGE, opened_on=date(2020, 6, 10)),
    )
    await apply_event(app, flag(first, RiskKind.LARGE_MEDICAL_EXPENSE, date(2020, 6, 10)))
    closed = MonitoringEpisodeClosed(
        household_id=HOME, episode_id=first, decision=EpisodeDecision.RISK_ELIMINATED, closed_on=date(2020, 9, 20)
    )
    await apply_event(app, closed)
    await apply_event(app, flag(first, RiskKind.DISASTER, date(2020, 8, 5)))  # raised before the closing, heard after
    await apply_event(app, flag(second, RiskKind.JOB_LOSS, date(2020, 11, 3)))  # before its episode's opening
    await apply_event(
        app,
        MonitoringEpisodeOpened(household_id=HOME, episode_id=second, area_code=VILLAGE, opened_on=date(2020, 11, 3)),
    )
    months = ("2020-02", "2020-07", "2020-09", "2020-10", "2020-12")
    seen = [(await _values(app, "temporary_assistance", p))[None] for p in months]
    assert [(v["household.monitoring_open"], v["household.risk_kinds"]) for v in seen] == [
        (False, []),
        (True, ["large_medical_expense"]),
        (True, ["disaster", "large_medical_expense"]),
        (False, []),
        (True, ["job_loss"]),
    ]
    household = await _household(app)
    assert (household.monitoring_open, household.risk_kinds) == (True, ["job_loss"])
    february = _holder(await _explain(client, "temporary_assistance", "2020-02"))
    assert february["entitled"] is False
    assert _failed(february) == ["household.monitoring_open is false (must be true): not met"]
    assert _holder(await _explain(client, "temporary_assistance", "2020-07"))["entitled"] is True


async def _member(app: FastAPI, member: UUID) -> MemberFacts:
    async with app.state.sessions() as s:
        found: MemberFacts | None = await s.get(MemberFacts, member)
    assert found is not None
    return found


# --- nobody dead before the period is entitled -----------------------------------------------------------------


async def test_a_household_whose_members_all_died_before_the_period_is_entitled_to_no_household_programme(
    api: Any,
) -> None:
    app, client, _ = api
    await _registered(app, LONE, (ELDER, date(1940, 1, 1)))
    episode = uuid4()
    opened = MonitoringEpisodeOpened(
        household_id=LONE, episode_id=episode, area_code=VILLAGE, opened_on=date(2019, 12, 1)
    )
    await apply_event(app, opened)
    await apply_event(app, _dibao(date(2019, 1, 1), household=LONE))
    await apply_event(app, MemberDied(household_id=LONE, member_id=ELDER, died_on=date(2020, 1, 15)))
    january = _holder(await _explain(client, "temporary_assistance", "2020-01", LONE))
    assert (january["entitled"], january["checks"][0]["reason"]) == (
        True,
        "household.member_count is 1 (must be over 0): met",
    )
    for code in ("temporary_assistance", "dibao"):
        february = _holder(await _explain(client, code, "2020-02", LONE))
        assert (february["entitled"], february["amount_fen"]) == (False, 0)
        assert _failed(february) == ["household.member_count is 0 (must be over 0): not met"]
    cycle = await _cycle(client, "temporary_assistance", "2020-02")
    assert [e["household_id"] for e in await _listed(client, cycle)] == []
    paid = {
        "household_id": str(LONE),
        "policy_code": "temporary_assistance",
        "period": "2020-02",
        "amount_fen": 100_000,
    }
    assert (
        await client.post("/v1/payments", json=paid, headers={**CLERK, "Idempotency-Key": "t-1"})
    ).status_code == 201
    check = await client.post(
        "/v1/leakage-checks", json={"policy_code": "temporary_assistance", "period": "2020-02"}, headers=DIRECTOR
    )
    leaks = (await client.get(f"/v1/leakage-checks/{check.json()['id']}/leaks", headers=AUDITOR)).json()["items"]
    assert [(leak["kind"], leak["detail"]) for leak in leaks] == [
        ("paid_after_death", "every member of the household had died before the period began")
    ]


async def test_a_member_dead_before_the_term_is_not_listed_and_one_dying_before_approval_is_withdrawn(
    api: Any,
) -> None:
    """雨露计划's seeded rule says nothing of death: the engine asks it first."""
    app, client, clock = api
    for student in (STUDENT, SISTER, HEAD):
        await _enrol(app, student, date(2019, 9, 1))
    await apply_event(app, MemberDied(household_id=HOME, member_id=STUDENT, died_on=date(2019, 11, 3)))
    cycle = await _cycle(client, "rain_and_dew_education_aid", "2020-S1")
    listed = await _listed(client, cycle)
    assert sorted(e["member_id"] for e in listed) == sorted([str(SISTER), str(HEAD)])
    explained = await _explain(client, "rain_and_dew_education_aid", "2020-S1")
    dead = _holder(explained, STUDENT)
    assert (dead["entitled"], dead["amount_fen"], dead["in_cycle"]["status"]) == (False, 0, "not_listed")
    assert dead["checks"][0]["reason"] == "member.alive is false (must be true): not met"
    notice = {"starts_on": "2020-06-02", "ends_on": "2020-06-08"}
    assert (await client.post(f"/v1/cycles/{cycle['id']}/notice", json=notice, headers=CLERK)).status_code == 200
    clock.on(date(2020, 6, 9))
    assert (await client.post(f"/v1/cycles/{cycle['id']}/submit", headers=CASHIER)).status_code == 200
    await apply_event(app, MemberDied(household_id=HOME, member_id=HEAD, died_on=date(2019, 12, 30)))  # heard late
    approved = await client.post(f"/v1/cycles/{cycle['id']}/approve", headers=DIRECTOR)
    assert approved.status_code == 200, approved.text
    assert (approved.json()["entitled_count"], approved.json()["withdrawn_count"]) == (1, 1)
    head = _holder(await _explain(client, "rain_and_dew_education_aid", "2020-S1"), HEAD)
    assert (head["entitled"], head["in_cycle"]["status"]) == (False, "withdrawn")
    assert head["in_cycle"]["withdrawn_reason"].endswith("member.alive is false (must be true): not met")


# --- the explanation judges as the cycle does ------------------------------------------------------------------


async def test_the_explanation_says_where_each_holder_stands_in_the_cycle_of_the_period(api: Any) -> None:
    app, client, _ = api
    await apply_event(app, _dibao(date(2019, 1, 1)))
    before = await _explain(client, "dibao", "2020-06")
    assert (before["cycle_id"], before["cycle_status"], _holder(before)["in_cycle"]) == (None, None, None)
    cycle = await _cycle(client, "dibao", "2020-06")
    [entitlement] = await _listed(client, cycle)
    listed = await _explain(client, "dibao", "2020-06")
    assert (listed["cycle_id"], listed["cycle_status"]) == (cycle["id"], "computed")
    assert _holder(listed)["in_cycle"] == {
        "status": "listed",
        "entitlement_id": entitlement["id"],
        "amount_fen": 3 * 25_800,
        "withdrawn_reason": None,
    }
    notice = {"starts_on": "2020-06-02", "ends_on": "2020-06-08"}
    assert (await client.post(f"/v1/cycles/{cycle['id']}/notice", json=notice, headers=CLERK)).status_code == 200
    objection = {"household_id": str(HOME), "entitlement_id": entitlement["id"], "grounds": "has a shop",
                 "raised_on": "2020-06-02"}  # fmt: skip
    raised = await client.post(f"/v1/cycles/{cycle['id']}/objections", json=objection, headers=CLERK)
    assert raised.status_code == 201, raised.text
    decided = await client.post(
        f"/v1/cycles/{cycle['id']}/objections/{raised.json()['id']}/decision",
        json={"decision": "upheld", "note": "verified on a visit"},
        headers=DIRECTOR,
    )
    assert decided.status_code == 200, decided.text
    withdrawn = _holder(await _explain(client, "dibao", "2020-06"))
    assert withdrawn["entitled"] is True  # the rule still entitles it: the objection took it off the list
    assert withdrawn["in_cycle"]["status"] == "withdrawn"
    assert withdrawn["in_cycle"]["withdrawn_reason"].startswith(f"withdrawn: objection {raised.json()['id']}")


# --- migration 0011 backfills the history ---------------------------------------------------------------------


async def test_the_history_is_backfilled_from_the_facts_kept_before(sqlite_url: Any) -> None:
    url = await sqlite_url("subsidies")
    at = datetime(2020, 1, 1, tzinfo=UTC)
    households = [
        {"household_id": HOME, "area_code": VILLAGE, "member_count": 1, "status": "relapsed",
         "status_since": date(2020, 5, 5), "previous_status": "exited_no_policies", "allowance": "dibao",
         "allowance_since": None, "previous_allowance": None, "housing_grade": "C", "monitoring_open": True,
         "risk_kinds": ["disaster"], "updated_at": at},
        {"household_id": LONE, "area_code": VILLAGE, "member_count": 0, "status": "in_poverty", "status_since": None,
         "previous_status": None, "allowance": "none", "allowance_since": None, "previous_allowance": None,
         "housing_grade": None, "monitoring_open": False, "risk_kinds": [], "updated_at": at},
    ]  # fmt: skip
    unknown: dict[str, Any] = {"enrolment": None, "school_stage": None, "died_on": None, "disability_grade": None}
    members = [
        {**unknown, "member_id": STUDENT, "household_id": HOME, "enrolment": "enrolled", "school_stage": "higher"},
        {**unknown, "member_id": ELDER, "household_id": LONE, "died_on": date(2020, 1, 15), "disability_grade": 1},
    ]
    tables: dict[Any, list[dict[str, Any]]] = {HouseholdFacts.__table__: households, MemberFacts.__table__: members}  # type: ignore[attr-defined]
    await migrate_over("subsidies", url, "0010", tables)
    async with running_app("subsidies", url) as (app, _):
        assert [(k, f, v, s) for k, f, v, s in await _history(app)] == [
            ("-", "household.allowance", "dibao", SINCE_EVER),
            ("-", "household.housing_grade", "C", SINCE_EVER),
            ("-", "household.monitoring_episode:earlier", True, SINCE_EVER),
            ("-", "household.risk_flag:earlier:disaster", True, SINCE_EVER),
            ("-", "household.status", "exited_no_policies", SINCE_EVER),
            ("-", "household.status", "relapsed", date(2020, 5, 5)),
            (str(STUDENT), "member.enrolment", "enrolled", SINCE_EVER),
            (str(STUDENT), "member.school_stage", "higher", SINCE_EVER),
        ]
        assert await _history(app, LONE) == [
            (str(ELDER), "member.alive", False, date(2020, 1, 16)),
            (str(ELDER), "member.disability_grade", 1, SINCE_EVER),
        ]
        april = (await _values(app, "temporary_assistance", "2020-04"))[None]
        assert (april["household.status"], april["household.monitoring_open"], april["household.risk_kinds"]) == (
            "exited_no_policies",
            True,
            ["disaster"],
        )
        # The episode kept from before is closed by the next closing heard, whatever its id.
        closed = MonitoringEpisodeClosed(
            household_id=HOME, episode_id=uuid4(), decision=EpisodeDecision.RELAPSED, closed_on=date(2020, 5, 5)
        )
        await apply_event(app, closed)
        june = (await _values(app, "temporary_assistance", "2020-06"))[None]
        assert (june["household.monitoring_open"], june["household.risk_kinds"]) == (False, [])
        assert (await _values(app, "temporary_assistance", "2020-02", LONE))[None]["household.member_count"] == 0


async def test_a_death_is_kept_from_the_day_after_it(api: Any) -> None:
    app, _, _ = api
    await apply_event(app, MemberDied(household_id=HOME, member_id=HEAD, died_on=date(2020, 5, 31)))
    await apply_event(app, MemberDied(household_id=HOME, member_id=HEAD, died_on=date(2020, 5, 31)))  # re-sent
    assert [r for r in await _history(app) if r[0] == str(HEAD)] == [
        (str(HEAD), "member.alive", False, date(2020, 6, 1))
    ]
    may = await _values(app, "disability_living_subsidy", "2020-05")
    june = await _values(app, "disability_living_subsidy", "2020-06")
    assert (may[HEAD]["member.alive"], may[HEAD]["household.member_count"]) == (True, 3)
    assert (june[HEAD]["member.alive"], june[HEAD]["household.member_count"]) == (False, 2)
    assert (await _member(app, HEAD)).died_on == date(2020, 5, 31)
