"""Project rules without a database: areas, periods, inspection dates, repeated problem codes, the project's life
(its moves, who makes them, what they need), its funds (draws, spending, totals by source) and the separation of
duties."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import pairwise

import pytest

from services.projects.rules import dates, funds, lifecycle
from services.projects.rules.inspections import repeated_codes
from services.projects.rules.vocabulary import FundSource, ProjectStatus
from shared.areas import township_or_village
from shared.auth import Role
from shared.duties import ensure_someone_else, same_person
from shared.errors import Conflict, Forbidden
from shared.timeutil import district_today, period_start

TODAY = date(2020, 6, 15)


def test_district_today_is_the_shanghai_calendar_day() -> None:
    late_evening_utc = datetime(2020, 6, 30, 17, 30, tzinfo=UTC)  # 01:30 on 1 July in Shanghai
    assert district_today(late_evening_utc) == date(2020, 7, 1)
    assert district_today(datetime(2020, 6, 30, 15, 59, tzinfo=UTC)) == date(2020, 6, 30)


@pytest.mark.parametrize("code", ["371523101", "371523101201"])
def test_projects_sit_in_a_township_or_a_village(code: str) -> None:
    assert township_or_village(code) == code


@pytest.mark.parametrize("code", ["371523", "3715231012", "37152310120a", "", "3715231012011"])
def test_other_area_codes_are_refused(code: str) -> None:
    with pytest.raises(ValueError, match="township or 12-digit village"):
        township_or_village(code)


@pytest.mark.parametrize(("period", "start"), [("2020-01", date(2020, 1, 1)), ("2019-12", date(2019, 12, 1))])
def test_period_start(period: str, start: date) -> None:
    assert period_start(period) == start


@pytest.mark.parametrize("period", ["2020-13", "2020-00", "2020-1", "202006", "2020-06-01", "June"])
def test_malformed_periods_are_refused(period: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        period_start(period)


def test_income_may_be_recorded_for_the_current_and_past_months() -> None:
    assert dates.period_begun("2020-06", today=TODAY)
    assert dates.period_begun("2016-01", today=TODAY)


def test_income_for_a_month_not_yet_begun_is_refused() -> None:
    assert not dates.period_begun("2020-07", today=TODAY)


def test_inspection_dates_up_to_today_are_accepted() -> None:
    assert not dates.in_future(TODAY, today=TODAY)
    assert dates.in_future(date(2020, 6, 16), today=TODAY)


def test_a_project_starts_within_a_year_of_its_registration() -> None:
    assert not dates.starts_too_late(date(2021, 6, 16), today=TODAY)  # 366 days ahead
    assert dates.starts_too_late(date(2021, 6, 17), today=TODAY)


def test_nothing_is_inspected_or_earned_before_the_project_started() -> None:
    started = date(2020, 3, 15)
    assert dates.before_start(date(2020, 3, 14), started_on=started)
    assert not dates.before_start(started, started_on=started)
    assert not dates.period_before_start("2020-03", started_on=started)  # the month it started counts
    assert dates.period_before_start("2020-02", started_on=started)


def test_repeated_codes_are_named_once_in_order() -> None:
    codes = ["roof_damaged", "no_income", "roof_damaged", "a", "a", "a"]
    assert repeated_codes(codes) == ["a", "roof_damaged"]
    assert repeated_codes(["roof_damaged", "no_income"]) == []
    assert repeated_codes([]) == []


# --- The project's life (rules/lifecycle.py) --------------------------------------------------------------------------

S = ProjectStatus
LIFE = [S.PLANNED, S.APPROVED, S.UNDER_CONSTRUCTION, S.COMPLETED, S.ACCEPTED, S.OPERATING, S.CLOSED]


def test_the_moves_are_the_steps_of_the_life_but_acceptance() -> None:
    steps = set(pairwise(LIFE))
    assert set(lifecycle.MOVES) == steps - {lifecycle.ACCEPTANCE_MOVE}
    assert lifecycle.ACCEPTANCE_MOVE == (S.COMPLETED, S.ACCEPTED)


@pytest.mark.parametrize(("from_status", "to_status"), [(a, b) for a in S for b in S if (a, b) not in lifecycle.MOVES])
def test_every_other_move_is_refused_naming_both_ends(from_status: ProjectStatus, to_status: ProjectStatus) -> None:
    with pytest.raises(Conflict) as refused:
        lifecycle.ensure_move(from_status, to_status, set(Role))
    assert refused.value.extensions == {
        "code": "transition_not_allowed",
        "from_status": from_status.value,
        "to_status": to_status.value,
    }


@pytest.mark.parametrize(
    ("move", "may", "may_not"),
    [
        ((S.PLANNED, S.APPROVED), Role.DISTRICT_OFFICE, Role.TOWNSHIP_OFFICE),
        ((S.APPROVED, S.UNDER_CONSTRUCTION), Role.TOWNSHIP_OFFICE, Role.INSPECTOR),
        ((S.UNDER_CONSTRUCTION, S.COMPLETED), Role.TOWNSHIP_OFFICE, Role.FINANCE_OFFICER),
        ((S.ACCEPTED, S.OPERATING), Role.DISTRICT_OFFICE, Role.VILLAGE_CADRE),
        ((S.OPERATING, S.CLOSED), Role.DISTRICT_OFFICE, Role.TOWNSHIP_OFFICE),
    ],
)
def test_each_move_belongs_to_its_roles(move: tuple[ProjectStatus, ProjectStatus], may: Role, may_not: Role) -> None:
    lifecycle.ensure_move(*move, {may})
    lifecycle.ensure_move(*move, {may_not, may})
    with pytest.raises(Forbidden) as refused:
        lifecycle.ensure_move(*move, {may_not})
    assert refused.value.extensions == {"code": "transition_role"}


@pytest.mark.parametrize(
    ("to_status", "ready", "need"),
    [
        (S.APPROVED, lifecycle.Readiness(), "no_funding"),
        (S.APPROVED, lifecycle.Readiness(funding_draws=1), None),
        (S.COMPLETED, lifecycle.Readiness(open_milestones=1), "milestones_open"),
        (S.COMPLETED, lifecycle.Readiness(), None),  # no milestone planned: nothing open
        (S.OPERATING, lifecycle.Readiness(), "no_assets"),
        (S.OPERATING, lifecycle.Readiness(assets=2), None),
        (S.UNDER_CONSTRUCTION, lifecycle.Readiness(), None),
        (S.CLOSED, lifecycle.Readiness(), None),
    ],
)
def test_what_a_move_needs(to_status: ProjectStatus, ready: lifecycle.Readiness, need: str | None) -> None:
    unmet = lifecycle.unmet_need(to_status, ready)
    assert (unmet[0] if unmet else None) == need


def test_only_approval_fixes_the_day_of_acceptance() -> None:
    assert [s for s in S if lifecycle.needs_acceptance_due(s)] == [S.APPROVED]


def test_a_step_is_not_dated_before_the_one_it_follows() -> None:
    assert not lifecycle.effective_too_early(TODAY, last_effective_on=None)
    assert not lifecycle.effective_too_early(TODAY, last_effective_on=TODAY)
    assert lifecycle.effective_too_early(date(2020, 6, 14), last_effective_on=TODAY)


def test_progress_never_goes_back() -> None:
    assert not lifecycle.progress_goes_back(40, 40)
    assert not lifecycle.progress_goes_back(40, 41)
    assert lifecycle.progress_goes_back(40, 39)


def test_a_contract_covers_its_last_day() -> None:
    assert not lifecycle.contract_expired(TODAY, today=TODAY)
    assert lifecycle.contract_expired(date(2020, 6, 14), today=TODAY)


def test_a_project_outside_the_allowed_statuses_is_refused_naming_its_status() -> None:
    lifecycle.ensure_status("approved", lifecycle.BUILDING, doing="plan milestones")
    with pytest.raises(Conflict) as refused:
        lifecycle.ensure_status("completed", lifecycle.BUILDING, doing="plan milestones")
    assert refused.value.extensions == {"code": "project_state", "project_status": "completed"}


# --- Funds (rules/funds.py) -------------------------------------------------------------------------------------------


def test_draws_on_a_line_stay_within_its_amount() -> None:
    funds.ensure_draw_fits(line_fen=1_000, drawn_by_others_fen=600, new_total_fen=400, spent_fen=0)
    with pytest.raises(Conflict) as refused:
        funds.ensure_draw_fits(line_fen=1_000, drawn_by_others_fen=600, new_total_fen=401, spent_fen=0)
    assert refused.value.extensions == {"code": "allocation_exhausted", "available_fen": 400}


def test_a_draw_stays_at_least_what_was_spent_from_it() -> None:
    funds.ensure_draw_fits(line_fen=1_000, drawn_by_others_fen=0, new_total_fen=300, spent_fen=300)
    with pytest.raises(Conflict) as refused:
        funds.ensure_draw_fits(line_fen=1_000, drawn_by_others_fen=0, new_total_fen=299, spent_fen=300)
    assert refused.value.extensions == {"code": "draw_below_spent", "spent_fen": 300}


def test_a_line_overdrawn_before_says_nothing_is_left_not_a_negative_amount() -> None:
    with pytest.raises(Conflict) as refused:
        funds.ensure_draw_fits(line_fen=1_000, drawn_by_others_fen=1_200, new_total_fen=1, spent_fen=0)
    assert refused.value.extensions["available_fen"] == 0


def test_spending_stays_within_its_draw() -> None:
    funds.ensure_spending_fits(drawn_fen=1_000, spent_fen=999, amount_fen=1)
    with pytest.raises(Conflict) as refused:
        funds.ensure_spending_fits(drawn_fen=1_000, spent_fen=999, amount_fen=2)
    assert refused.value.extensions == {"code": "funding_exhausted", "available_fen": 1}


def test_totals_name_every_source_and_add_up_the_higher_levels_and_the_whole() -> None:
    totals = funds.totals(
        allocated={"district": 2_150_000_000, "central": 1_500_000_000, "provincial": 400_000_000, "municipal": 1},
        drawn={"district": 7, "matching": 5},
        spent={"central": 3},
    )
    assert list(totals.by_source) == list(FundSource)
    assert totals.by_source[FundSource.MATCHING] == funds.Money(0, 5, 0)
    assert totals.higher_levels == funds.Money(1_900_000_001, 0, 3)
    assert totals.total == funds.Money(4_050_000_001, 12, 3)


def test_spending_and_drawing_follow_the_projects_status() -> None:
    assert {S.APPROVED, S.UNDER_CONSTRUCTION, S.COMPLETED, S.ACCEPTED, S.OPERATING} == funds.SPENDING
    assert {*funds.SPENDING, S.PLANNED} == funds.DRAWING


def test_one_person_is_one_subject_however_it_is_written() -> None:
    assert same_person("wang.wu", "Wang.Wu") and same_person("WANG.WU", " wang.wu ")
    assert not same_person("wang.wu", "wang.wu2") and not same_person("wang.wu", None)
    with pytest.raises(Forbidden) as refused:
        ensure_someone_else("Li.Na", "wang.wu", "LI.NA", message="someone else")
    assert refused.value.extensions == {"code": "separation_of_duties"}
    ensure_someone_else("li.na", None, "wang.wu", message="someone else")
