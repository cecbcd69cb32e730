"""Subsidy rules as pure functions: income distribution by members (差异化分配), periods that have begun."""

from __future__ import annotations

import random
from datetime import date
from uuid import UUID

import pytest

from services.subsidies.rules.distribution import allocate_by_members
from services.subsidies.rules.periods import period_begun

A, B, C, D = (UUID(int=n) for n in (1, 2, 3, 4))


def test_shares_follow_member_counts_exactly_when_they_divide() -> None:
    assert allocate_by_members(600, {A: 1, B: 2, C: 3}) == {A: 100, B: 200, C: 300}


def test_remainder_goes_one_fen_at_a_time_to_the_largest_fractions() -> None:
    # exact shares 333.33 / 666.67: the largest fraction (B) takes the one fen left over
    assert allocate_by_members(1000, {A: 1, B: 2}) == {A: 333, B: 667}
    # 100 / 7 members: exact 14.29, 28.57, 57.14 -> fractions .29 .57 .14 -> one fen to B
    assert allocate_by_members(100, {A: 1, B: 2, C: 4}) == {A: 14, B: 29, C: 57}


def test_equal_fractions_are_broken_by_household_id() -> None:
    assert allocate_by_members(2, {C: 1, A: 1, B: 1}) == {A: 1, B: 1, C: 0}
    assert allocate_by_members(10, {D: 1, C: 1, B: 1, A: 1}) == {A: 3, B: 3, C: 2, D: 2}


def test_the_result_does_not_depend_on_input_order() -> None:
    households = {A: 3, B: 1, C: 2, D: 5}
    reversed_order = dict(reversed(list(households.items())))
    assert allocate_by_members(12_345, households) == allocate_by_members(12_345, reversed_order)


def test_no_households_share_nothing() -> None:
    assert allocate_by_members(100_000, {}) == {}


def test_an_amount_smaller_than_the_members_gives_some_households_nothing() -> None:
    shares = allocate_by_members(1, {A: 2, B: 3})
    assert shares == {A: 0, B: 1}


def test_zero_amount_gives_zero_to_everyone() -> None:
    assert allocate_by_members(0, {A: 1, B: 4}) == {A: 0, B: 0}


def test_shares_always_sum_to_the_amount_and_differ_from_exact_by_less_than_one_fen() -> None:
    rng = random.Random(20200630)
    for _ in range(500):
        households = {UUID(int=rng.getrandbits(128)): rng.randint(1, 9) for _ in range(rng.randint(1, 40))}
        amount = rng.randint(0, 10**9)
        shares = allocate_by_members(amount, households)
        assert sum(shares.values()) == amount
        assert set(shares) == set(households)
        total = sum(households.values())
        for hid, fen in shares.items():
            assert abs(fen * total - amount * households[hid]) < total


@pytest.mark.parametrize(("amount", "households"), [(-1, {A: 1}), (100, {A: 0}), (100, {A: 2, B: -1})])
def test_impossible_inputs_are_refused(amount: int, households: dict[UUID, int]) -> None:
    with pytest.raises(ValueError, match=r"negative|member"):
        allocate_by_members(amount, households)


def test_a_subsidy_is_paid_for_a_period_that_has_begun_never_a_future_one() -> None:
    today = date(2020, 6, 1)
    assert period_begun("2020-06", today=today)
    assert period_begun("2019-12", today=today)
    assert not period_begun("2020-07", today=today)
