"""The facts eligibility rules read, kept from households' events (re-sent events change nothing), loaded in bulk
as of a period's first day, and explained per household: on a migrated SQLite file."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select

from services.subsidies.domain import facts as facts_module
from services.subsidies.domain.facts import holder_facts, living_members
from services.subsidies.models import HouseholdFacts, MemberFacts, Programme
from shared.contracts import IntegrationEvent
from shared.contracts.households import (
    EpisodeDecision,
    HouseholdRegistered,
    HouseholdStatus,
    HouseholdStatusChanged,
    HouseholdUpdated,
    HousingAppraised,
    HousingRenovated,
    MemberAdded,
    MemberDied,
    MemberDisabilityRecorded,
    MemberMedicalCoverageChanged,
    MemberSchoolingChanged,
    MinimumAllowance,
    MinimumAllowanceChanged,
    MonitoringEpisodeClosed,
    MonitoringEpisodeOpened,
    RiskFlagRaised,
    RiskKind,
)
from shared.errors import NotFound
from tests.support import apply_event, assert_problem, auth, running_app

VILLAGE = "371523101201"
HOME = UUID(int=1)
HEAD, CHILD, ELDER = UUID(int=11), UUID(int=12), UUID(int=13)
EPISODE = uuid4()


def _registered(household_id: UUID, *, members: int, area_code: str = VILLAGE) -> HouseholdRegistered:
    code = f"CP-{household_id.int:06d}"
    return HouseholdRegistered(
        household_id=household_id, household_code=code, area_code=area_code, member_count=members
    )


def _member(member_id: UUID, born: date, relationship: str = "son", household_id: UUID = HOME) -> MemberAdded:
    return MemberAdded(
        household_id=household_id,
        member_id=member_id,
        relationship_to_head=relationship,
        birth_date=born,
        name_masked="张*三",
        id_masked="3715**********1234",
    )


async def _register_home(app: Any) -> None:
    """A household registered with three members, each announced after the registration."""
    await apply_event(app, _registered(HOME, members=3))
    for member in (_member(HEAD, date(1960, 3, 1), "head"), _member(CHILD, date(2004, 9, 1)),
                   _member(ELDER, date(1940, 1, 15), "parent")):  # fmt: skip
        await apply_event(app, member)


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("subsidies", await sqlite_url("subsidies")) as (app, client):
        await _register_home(app)
        yield app, client


async def _household(app: Any, household_id: UUID = HOME) -> HouseholdFacts:
    async with app.state.sessions() as s:
        found: HouseholdFacts | None = await s.get(HouseholdFacts, household_id)
    assert found is not None
    return found


async def _member_facts(app: Any, member_id: UUID) -> MemberFacts:
    async with app.state.sessions() as s:
        found: MemberFacts | None = await s.get(MemberFacts, member_id)
    assert found is not None
    return found


async def _apply_twice(app: Any, event: IntegrationEvent) -> None:
    """Applied, then re-sent under a new event id: the second time must change nothing."""
    await apply_event(app, event)
    await apply_event(app, event)


# --- facts from events ---------------------------------------------------------------------------------------------


async def test_registered_members_are_announced_and_counted_once(api: Any) -> None:
    app, _ = api
    assert (await _household(app)).member_count == 3
    await _register_home(app)  # all of it re-sent
    assert (await _household(app)).member_count == 3
    newborn = uuid4()
    await _apply_twice(app, _member(newborn, date(2020, 5, 1), "grandchild"))
    assert (await _household(app)).member_count == 4
    born = await _member_facts(app, newborn)
    assert (born.birth_date, born.relationship_to_head, born.name_masked, born.id_masked) == (
        date(2020, 5, 1),
        "grandchild",
        "张*三",
        "3715**********1234",
    )


async def test_a_death_is_kept_and_the_member_no_longer_counted(api: Any) -> None:
    app, _ = api
    await _apply_twice(app, MemberDied(household_id=HOME, member_id=ELDER, died_on=date(2020, 6, 15)))
    assert (await _household(app)).member_count == 2
    assert (await _member_facts(app, ELDER)).died_on == date(2020, 6, 15)
    await apply_event(app, _member(uuid4(), date(2020, 7, 1)))  # one more living member than counted
    assert (await _household(app)).member_count == 3


async def test_status_changes_keep_the_status_before_them(api: Any) -> None:
    app, _ = api
    exit_ = HouseholdStatusChanged(
        household_id=HOME,
        area_code=VILLAGE,
        from_status=HouseholdStatus.IN_POVERTY,
        to_status=HouseholdStatus.EXITED_NO_POLICIES,
        reason="officer_decision",
        effective_on=date(2020, 6, 10),
        changed_by="officer-1",
    )
    await _apply_twice(app, exit_)
    household = await _household(app)
    assert (household.status, household.previous_status, household.status_since) == (
        "exited_no_policies",
        "in_poverty",
        date(2020, 6, 10),
    )
    relapse = exit_.model_copy(
        update={"from_status": exit_.to_status, "to_status": HouseholdStatus.RELAPSED, "effective_on": date(2020, 9, 1)}
    )
    await apply_event(app, relapse)
    await apply_event(app, exit_)  # re-sent after the newer one: kept once, at its own day
    household = await _household(app)
    assert (household.status, household.previous_status, household.status_since) == (
        "relapsed",
        "exited_no_policies",
        date(2020, 9, 1),
    )


async def test_allowance_changes_keep_the_allowance_before_them(api: Any) -> None:
    app, _ = api
    on = MinimumAllowanceChanged(household_id=HOME, status=MinimumAllowance.DIBAO, effective_on=date(2020, 3, 1))
    await _apply_twice(app, on)
    off = MinimumAllowanceChanged(household_id=HOME, status=MinimumAllowance.NONE, effective_on=date(2020, 8, 1))
    await apply_event(app, off)
    await apply_event(app, on)  # re-sent late: kept once, at its own day
    household = await _household(app)
    assert (household.allowance, household.previous_allowance, household.allowance_since) == (
        "none",
        "dibao",
        date(2020, 8, 1),
    )


async def test_housing_and_monitoring_facts(api: Any) -> None:
    app, _ = api
    appraisal = uuid4()
    await _apply_twice(
        app,
        HousingAppraised(
            household_id=HOME,
            appraisal_id=appraisal,
            area_code=VILLAGE,
            grade="D",
            appraised_on=date(2020, 4, 1),
            renovation_due=date(2020, 10, 1),
        ),
    )
    assert (await _household(app)).housing_grade == "D"
    await apply_event(
        app,
        HousingRenovated(
            household_id=HOME,
            appraisal_id=appraisal,
            new_appraisal_id=uuid4(),
            new_grade="B",
            completed_on=date(2020, 9, 1),
        ),
    )
    assert (await _household(app)).housing_grade == "B"
    await apply_event(
        app,
        MonitoringEpisodeOpened(household_id=HOME, episode_id=EPISODE, area_code=VILLAGE, opened_on=date(2020, 5, 1)),
    )
    for kind in (RiskKind.LARGE_MEDICAL_EXPENSE, RiskKind.DISASTER, RiskKind.LARGE_MEDICAL_EXPENSE):
        flag = RiskFlagRaised(
            household_id=HOME,
            flag_id=uuid4(),
            episode_id=EPISODE,
            area_code=VILLAGE,
            kind=kind,
            raised_on=date(2020, 5, 1),
        )
        await apply_event(app, flag)
    household = await _household(app)
    assert household.monitoring_open and household.risk_kinds == ["disaster", "large_medical_expense"]
    closed = MonitoringEpisodeClosed(
        household_id=HOME, episode_id=EPISODE, decision=EpisodeDecision.RISK_ELIMINATED, closed_on=date(2020, 8, 1)
    )
    await _apply_twice(app, closed)
    household = await _household(app)
    assert (household.monitoring_open, household.risk_kinds) == (False, [])


async def test_member_facts_from_their_events(api: Any) -> None:
    app, _ = api
    await _apply_twice(
        app,
        MemberDisabilityRecorded(
            household_id=HOME, member_id=ELDER, disability_type="physical", grade=2, certified_on=date(2020, 2, 1)
        ),
    )
    await _apply_twice(
        app, MemberSchoolingChanged(household_id=HOME, member_id=CHILD, enrolment="enrolled", school_stage="vocational")
    )
    await _apply_twice(
        app,
        MemberMedicalCoverageChanged(
            household_id=HOME,
            member_id=HEAD,
            medical_insured=True,
            premium_subsidised=False,
            family_doctor_contract=True,
        ),
    )
    elder, child, head = [await _member_facts(app, m) for m in (ELDER, CHILD, HEAD)]
    assert elder.disability_grade == 2
    assert (child.enrolment, child.school_stage) == ("enrolled", "vocational")
    assert (head.medical_insured, head.premium_subsidised) == (True, False)
    assert (await _household(app)).member_count == 3


async def test_a_member_known_only_from_a_fact_event_is_kept_without_counting_again(api: Any) -> None:
    app, _ = api
    unannounced = uuid4()
    await apply_event(
        app,
        MemberSchoolingChanged(household_id=HOME, member_id=unannounced, enrolment="enrolled", school_stage="primary"),
    )
    assert (await _member_facts(app, unannounced)).enrolment == "enrolled"
    assert (await _household(app)).member_count == 3


@pytest.mark.parametrize(
    "event",
    [
        HouseholdUpdated(household_id=uuid4(), area_code=VILLAGE, changed=[]),
        MemberAdded(household_id=uuid4(), member_id=uuid4(), relationship_to_head="son", birth_date=date(2000, 1, 1)),
        MemberDied(household_id=uuid4(), member_id=uuid4(), died_on=date(2020, 1, 1)),
        MinimumAllowanceChanged(household_id=uuid4(), status=MinimumAllowance.DIBAO, effective_on=date(2020, 1, 1)),
        MemberSchoolingChanged(household_id=uuid4(), member_id=uuid4(), enrolment="enrolled", school_stage="primary"),
        MonitoringEpisodeClosed(
            household_id=uuid4(), episode_id=uuid4(), decision=EpisodeDecision.RELAPSED, closed_on=date(2020, 1, 1)
        ),
    ],
)
async def test_a_household_event_before_its_registration_is_not_found(api: Any, event: IntegrationEvent) -> None:
    app, _ = api
    with pytest.raises(NotFound):
        await apply_event(app, event)
    async with app.state.sessions() as s:
        assert len((await s.scalars(select(HouseholdFacts))).all()) == 1
        assert len((await s.scalars(select(MemberFacts))).all()) == 3


# --- facts as of a period's first day, in bulk ---------------------------------------------------------------------


async def _programme(app: Any, code: str) -> Programme:
    async with app.state.sessions() as s:
        found: Programme | None = await s.get(Programme, code)
    assert found is not None
    return found


async def _holders(app: Any, code: str, period: str, **kwargs: Any) -> list[Any]:
    programme = await _programme(app, code)
    async with app.state.sessions() as s:
        return [holder async for chunk in holder_facts(s, programme, period, **kwargs) for holder in chunk]


async def test_a_household_holder_has_the_household_facts_as_of_the_first_day(api: Any) -> None:
    app, _ = api
    await apply_event(
        app, MinimumAllowanceChanged(household_id=HOME, status=MinimumAllowance.DIBAO, effective_on=date(2020, 6, 2))
    )
    await apply_event(app, MemberDied(household_id=HOME, member_id=ELDER, died_on=date(2020, 6, 20)))
    [june] = await _holders(app, "dibao", "2020-06")
    assert (june.household_id, june.member_id, june.area_code) == (HOME, None, VILLAGE)
    assert june.values == {
        "household.status": "in_poverty",
        "household.allowance": "none",  # on 1 June: 低保 began on the 2nd
        "household.housing_grade": None,
        "household.monitoring_open": False,
        "household.risk_kinds": [],
        "household.member_count": 3,  # the elder was living on 1 June
    }
    [july] = await _holders(app, "dibao", "2020-07")
    assert (july.values["household.allowance"], july.values["household.member_count"]) == ("dibao", 2)


async def test_member_holders_have_their_own_facts_living_or_not(api: Any) -> None:
    app, _ = api
    await apply_event(app, MemberDied(household_id=HOME, member_id=ELDER, died_on=date(2019, 12, 31)))
    holders = {h.member_id: h for h in await _holders(app, "pension_premium_subsidy", "2020")}
    assert set(holders) == {HEAD, CHILD, ELDER}
    head, child, elder = holders[HEAD].values, holders[CHILD].values, holders[ELDER].values
    assert (head["member.age"], head["member.relationship"], head["member.alive"]) == (59, "head", True)
    assert (child["member.age"], elder["member.alive"]) == (15, False)
    assert head["household.member_count"] == 2 and head["household.status"] == "in_poverty"
    assert head["member.disability_grade"] is None and head["member.enrolment"] is None
    # On 1 September 2020 the child turns 16 (born 1 September 2004): whole years on the first day.
    [term] = [h for h in await _holders(app, "education_aid", "2020-S2") if h.member_id == CHILD]
    assert term.values["member.age"] == 15


async def test_holders_come_in_chunks_by_household_filtered_by_area_or_ids(
    sqlite_url: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(facts_module, "CHUNK", 2)
    async with running_app("subsidies", await sqlite_url("subsidies")) as (app, _):
        ids = [UUID(int=100 + n) for n in range(5)]
        for n, household_id in enumerate(ids):
            await apply_event(app, _registered(household_id, members=1, area_code=f"3715231{n % 2:02d}201"))
            await apply_event(app, _member(UUID(int=200 + n), date(1980, 1, 1), "head", household_id))
        programme = await _programme(app, "pension_premium_subsidy")
        async with app.state.sessions() as s:
            chunks = [chunk async for chunk in holder_facts(s, programme, "2020")]
            assert [len(c) for c in chunks] == [2, 2, 1]
            assert [h.household_id for c in chunks for h in c] == ids
            township = [h async for c in holder_facts(s, programme, "2020", area_code="371523101") for h in c]
            assert [h.household_id for h in township] == [ids[1], ids[3]]
            chosen = [h async for c in holder_facts(s, programme, "2020", household_ids=ids[::-2]) for h in c]
            assert [h.household_id for h in chosen] == [ids[0], ids[2], ids[4]]
            assert await living_members(s, ids[:2]) == {ids[0]: 1, ids[1]: 1}


async def test_living_members_on_a_day(api: Any) -> None:
    app, _ = api
    await apply_event(app, MemberDied(household_id=HOME, member_id=ELDER, died_on=date(2020, 6, 20)))
    async with app.state.sessions() as s:
        assert await living_members(s, [HOME]) == {HOME: 2}
        assert await living_members(s, [HOME], on=date(2020, 6, 1)) == {HOME: 3}
        assert await living_members(s, [HOME], on=date(2020, 7, 1)) == {HOME: 2}
        assert await living_members(s, [uuid4()]) == {}


# --- the explanation endpoint --------------------------------------------------------------------------------------


def _explain(client: Any, programme: str, period: str, headers: dict[str, str], household: UUID = HOME) -> Any:
    return client.get(
        f"/v1/households/{household}/eligibility", params={"programme": programme, "period": period}, headers=headers
    )


async def test_a_household_programme_is_explained_rule_by_rule(api: Any) -> None:
    app, client = api
    await apply_event(
        app, MinimumAllowanceChanged(household_id=HOME, status=MinimumAllowance.DIBAO, effective_on=date(2020, 1, 1))
    )
    r = await _explain(client, "dibao", "2020-06", auth("township_office", area="371523101"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["programme_code"], body["unit"], body["period"], body["area_code"]) == (
        "dibao",
        "household",
        "2020-06",
        VILLAGE,
    )
    assert (body["version"]["version"], body["version"]["amount_fen"]) == (1, 25_800)
    [holder] = body["holders"]
    assert (holder["member_id"], holder["entitled"], holder["amount_fen"]) == (None, True, 77_400)
    assert holder["checks"] == [
        {
            "fact": "household.member_count",
            "op": "gt",
            "expected": 0,
            "actual": 3,
            "holds": True,
            "reason": "household.member_count is 3 (must be over 0): met",
        },
        {
            "fact": "household.allowance",
            "op": "eq",
            "expected": "dibao",
            "actual": "dibao",
            "holds": True,
            "reason": "household.allowance is dibao (must be dibao): met",
        },
        {
            "fact": "household.status",
            "op": "ne",
            "expected": "exited_no_policies",
            "actual": "in_poverty",
            "holds": True,
            "reason": "household.status is in_poverty (must not be exited_no_policies): met",
        },
    ]
    housing = (await _explain(client, "dangerous_house_renovation", "2020-06", auth("auditor"))).json()
    [holder] = housing["holders"]
    assert (holder["entitled"], holder["amount_fen"]) == (False, 0)
    assert holder["checks"][1]["reason"] == "household.housing_grade is not known (must be one of [C, D]): not met"


async def test_a_member_programme_is_explained_for_each_member(api: Any) -> None:
    app, client = api
    await apply_event(
        app,
        MemberSchoolingChanged(household_id=HOME, member_id=CHILD, enrolment="enrolled", school_stage="vocational"),
        at=datetime(2020, 3, 1, tzinfo=UTC),
    )
    r = await _explain(client, "rain_and_dew_education_aid", "2020-S2", auth("discipline_commission"))
    assert r.status_code == 200, r.text
    holders = {h["member_id"]: h for h in r.json()["holders"]}
    assert set(holders) == {str(HEAD), str(CHILD), str(ELDER)}
    child = holders[str(CHILD)]
    assert (child["entitled"], child["amount_fen"], child["name_masked"]) == (True, 150_000, "张*三")
    assert [c["holds"] for c in child["checks"]] == [True, True, True, True]  # living, then the rule's three
    head = holders[str(HEAD)]
    assert (head["entitled"], head["amount_fen"]) == (False, 0)
    assert head["checks"][1]["reason"] == "member.enrolment is not known (must be enrolled): not met"


@pytest.mark.parametrize(
    ("programme", "period", "field", "code"),
    [
        ("industry_award", "2020-06", "query.programme", "unknown_policy"),
        ("dibao", "2020-S1", "query.period", "period_format"),
        ("education_aid", "2020", "query.period", "period_format"),
        ("dibao", "2019-06", "query.period", "no_version_in_force"),
    ],
)
async def test_an_explanation_needs_a_catalogued_programme_and_its_period(
    api: Any, programme: str, period: str, field: str, code: str
) -> None:
    _, client = api
    problem = assert_problem(await _explain(client, programme, period, auth("finance_officer")), 422)
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [(field, code)]


async def test_an_explanation_is_refused_outside_reach_or_for_an_unknown_household(api: Any) -> None:
    _, client = api
    assert_problem(await _explain(client, "dibao", "2020-06", auth("township_office", area="371523105")), 403)
    assert_problem(await _explain(client, "dibao", "2020-06", auth("helper_cadre", area=VILLAGE)), 403)
    assert_problem(await _explain(client, "dibao", "2020-06", auth("auditor"), household=uuid4()), 404)
    assert_problem(await _explain(client, "pocket_money", "2020-06", auth("auditor")), 422)
    assert_problem(await _explain(client, "dibao", "2020-6", auth("auditor")), 422)
