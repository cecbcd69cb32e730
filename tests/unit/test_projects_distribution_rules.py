"""The rules of a distribution plan, directly: household categories at their boundaries, set-asides, weights, the
largest-remainder shares (exact fen whatever the input), the explanation's words."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.projects.rules.categories import MemberFacts, age_on, categories_of
from services.projects.rules.distribution import (
    divide,
    explain,
    largest_remainder,
    percent,
    set_aside_amounts,
    weight_of,
)
from services.projects.rules.vocabulary import DistributionBasis, HouseholdCategory

C = HouseholdCategory
ON = date(2020, 6, 30)
POINTS = {C.WEAK_LABOUR: 2, C.DISABLED: 3, C.ELDERLY_ALONE: 5}


def aged(years: int, *, grade: int | None = None, died_on: date | None = None) -> MemberFacts:
    """A member whose birthday is ON: exactly `years` old on the plan's day."""
    return MemberFacts(birth_date=ON.replace(year=ON.year - years), disability_grade=grade, died_on=died_on)


def household(*members: MemberFacts, living: int | None = None) -> frozenset[HouseholdCategory]:
    count = living if living is not None else sum(1 for m in members if m.died_on is None)
    return categories_of(members, living_members=count, on=ON)


def test_age_counts_full_years_and_a_leap_day_birthday() -> None:
    assert age_on(date(1960, 6, 30), ON) == 60
    assert age_on(date(1960, 7, 1), ON) == 59
    assert age_on(date(2000, 2, 29), date(2021, 2, 28)) == 20
    assert age_on(date(2000, 2, 29), date(2021, 3, 1)) == 21


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ((aged(16),), frozenset()),  # 16 today: labour
        ((MemberFacts(birth_date=date(2004, 7, 1)),), {C.WEAK_LABOUR}),  # 16 tomorrow: not yet
        ((MemberFacts(birth_date=date(1960, 7, 1)), aged(10)), frozenset()),  # 60 tomorrow: still labour
        ((aged(59), aged(10)), frozenset()),  # 59: labour
        ((aged(40, grade=2), aged(10)), {C.WEAK_LABOUR, C.DISABLED}),  # grade 2: no labour expected
        ((aged(40, grade=3), aged(10)), {C.DISABLED}),  # grade 3: still labour
        ((aged(60), aged(62)), {C.WEAK_LABOUR}),  # both past working age, not alone
        ((aged(60),), {C.WEAK_LABOUR, C.ELDERLY_ALONE}),
        ((aged(59),), frozenset()),  # alone, but not elderly
        ((aged(70), aged(35, died_on=date(2020, 3, 1))), {C.WEAK_LABOUR, C.ELDERLY_ALONE}),  # the son died
        ((aged(70), aged(35, died_on=date(2020, 7, 15))), frozenset()),  # dies after the plan's day
        ((aged(70, grade=4), aged(40)), {C.DISABLED}),
        ((MemberFacts(disability_grade=1),), {C.WEAK_LABOUR, C.DISABLED}),  # age not known yet
        ((), frozenset()),  # no member known: nothing to judge
        ((aged(40, died_on=date(2020, 1, 1)),), frozenset()),
    ],
)
def test_categories_at_their_boundaries(members: tuple[MemberFacts, ...], expected: set[HouseholdCategory]) -> None:
    assert household(*members) == frozenset(expected)


def test_the_elderly_alone_are_alone_by_the_rolls_count_too() -> None:
    # The roll counts two living members, one not announced yet: the one known is not alone.
    assert household(aged(75), living=2) == {C.WEAK_LABOUR}
    assert household(aged(75), living=1) == {C.WEAK_LABOUR, C.ELDERLY_ALONE}


def test_weights_by_members_households_and_categories() -> None:
    cats = frozenset({C.WEAK_LABOUR, C.DISABLED})
    assert weight_of(DistributionBasis.MEMBERS, living_members=4, categories=cats, points=None) == 4
    assert weight_of(DistributionBasis.HOUSEHOLDS, living_members=4, categories=cats, points=None) == 1
    assert weight_of(DistributionBasis.CATEGORIES, living_members=4, categories=cats, points=POINTS) == 5
    assert weight_of(DistributionBasis.CATEGORIES, living_members=4, categories=frozenset(), points=POINTS) == 1
    with pytest.raises(ValueError, match="points"):
        weight_of(DistributionBasis.CATEGORIES, living_members=1, categories=cats, points=None)


def test_set_asides_are_rounded_down() -> None:
    assert set_aside_amounts(100_001, {"a": 2000, "b": 1}) == {"a": 20_000, "b": 10}
    assert set_aside_amounts(99, {"a": 10_000}) == {"a": 99}
    with pytest.raises(ValueError, match="basis points"):
        set_aside_amounts(100, {"a": 6000, "b": 4001})


def test_the_largest_remainder_goes_to_the_largest_fractions_then_the_lowest_id() -> None:
    a, b, c = UUID(int=1), UUID(int=2), UUID(int=3)
    assert largest_remainder(10, {a: 1, b: 1, c: 1}) == {a: 4, b: 3, c: 3}
    assert largest_remainder(10, {c: 1, b: 1, a: 1}) == {a: 4, b: 3, c: 3}
    assert largest_remainder(100, {a: 1, b: 2}) == {a: 33, b: 67}  # 33.33 and 66.67: b's fraction is larger
    assert largest_remainder(0, {a: 1}) == {a: 0}
    assert largest_remainder(5, {}) == {}


def test_a_division_keeps_the_set_asides_and_shares_the_rest() -> None:
    a, b = UUID(int=1), UUID(int=2)
    division = divide(100_000, set_asides_bp={"public_welfare_jobs": 2000}, weights={a: 3, b: 38})
    assert division.set_asides == {"public_welfare_jobs": 20_000}
    assert division.shared_fen == 80_000
    assert division.shares == {a: 5854, b: 74_146}


households_weights = st.dictionaries(st.uuids(), st.integers(min_value=1, max_value=50), min_size=0, max_size=60)
set_asides_bp = st.lists(st.integers(min_value=0, max_value=10_000), max_size=2).filter(lambda bp: sum(bp) <= 10_000)


@given(amount=st.integers(min_value=0, max_value=10**12), weights=households_weights, kept=set_asides_bp)
def test_shares_and_set_asides_add_up_exactly_to_the_income(
    amount: int, weights: dict[UUID, int], kept: list[int]
) -> None:
    division = divide(amount, set_asides_bp={str(i): bp for i, bp in enumerate(kept)}, weights=weights)
    assert all(fen >= 0 for fen in [*division.set_asides.values(), *division.shares.values()])
    assert division.shared_fen == amount - sum(division.set_asides.values())
    if weights:
        assert sum(division.shares.values()) == division.shared_fen
    whole = sum(weights.values())
    for hid, fen in division.shares.items():  # each share is its exact share rounded down or up
        assert division.shared_fen * weights[hid] // whole <= fen <= -(-division.shared_fen * weights[hid] // whole)


@given(amount=st.integers(min_value=0, max_value=10**9), weights=households_weights, data=st.data())
def test_shares_do_not_depend_on_the_order_of_the_households(
    amount: int, weights: dict[UUID, int], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(list(weights.items())))
    assert largest_remainder(amount, dict(shuffled)) == largest_remainder(amount, weights)


@given(amount=st.integers(min_value=0, max_value=10**9), weights=households_weights)
def test_a_heavier_household_never_gets_less(amount: int, weights: dict[UUID, int]) -> None:
    shares = largest_remainder(amount, weights)
    by_weight = sorted(weights.items(), key=lambda item: item[1])
    for (light, w_light), (heavy, w_heavy) in pairwise(by_weight):
        assert w_light == w_heavy or shares[light] <= shares[heavy]


def test_percentages_are_written_without_floats() -> None:
    assert [percent(bp) for bp in (2000, 1250, 1, 10_000, 0)] == ["20 %", "12.5 %", "0.01 %", "100 %", "0 %"]


def test_the_explanation_says_why_in_plain_words() -> None:
    common = {"total_weight": 41, "household_count": 12, "shared_fen": 100_000, "amount_fen": 7317}
    by_members = explain(
        DistributionBasis.MEMBERS,
        weight=3,
        area_code="371523101201",
        set_aside_bp=2000,
        categories=frozenset(),
        **common,
    )
    assert by_members == (
        "3 living members of 41 in village 371523101201: 3/41 of 100,000 fen after 20 % set aside: 7,317 fen"
    )
    by_categories = explain(
        DistributionBasis.CATEGORIES,
        weight=5,
        area_code="371523101",
        set_aside_bp=0,
        categories=frozenset({C.DISABLED, C.WEAK_LABOUR}),
        **common,
    )
    assert by_categories == (
        "5 points (disabled, weak labour) of 41 in township 371523101: 5/41 of 100,000 fen: 7,317 fen"
    )
    equally = explain(
        DistributionBasis.HOUSEHOLDS,
        weight=1,
        area_code="371523101201",
        set_aside_bp=1250,
        categories=frozenset(),
        **{**common, "total_weight": 12},
    )
    assert equally.startswith("1 of 12 households in village 371523101201, shared equally: 1/12 of 100,000 fen after")
