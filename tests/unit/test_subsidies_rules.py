"""Subsidy rules as pure functions: projects' orders read as subsidies pays them (a plan's shares, a payroll's
lines), periods that have begun."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from services.subsidies.rules.periods import period_begun
from services.subsidies.rules.project_orders import (
    NO_ORDER_REF,
    PAYROLL,
    PLAN,
    explanation,
    payroll_order,
    plan_order,
)
from shared.contracts.projects import IncomeDistributionApproved, PayrollApproved, PayrollLine, PlanShare
from shared.contracts.subsidies import PolicyCode

A, B = UUID(int=1), UUID(int=2)
PLAN_ID, INCOME_ID, PAYROLL_ID = UUID(int=100), UUID(int=101), UUID(int=200)
MEMBER, OTHER_MEMBER = UUID(int=11), UUID(int=12)
POST, SECOND_POST = UUID(int=301), UUID(int=302)


def _plan(*shares: tuple[UUID, int]) -> IncomeDistributionApproved:
    return IncomeDistributionApproved(
        project_id=UUID(int=7), plan_id=PLAN_ID, income_id=INCOME_ID, period="2020-06", owner_area_code="371523101",
        approved_by="approver-1", shares=[PlanShare(household_id=h, amount_fen=fen) for h, fen in shares],
    )  # fmt: skip


def _payroll(*lines: tuple[UUID, UUID, UUID, int]) -> PayrollApproved:
    return PayrollApproved(
        payroll_id=PAYROLL_ID, period="2020-06", approved_by="director",
        lines=[PayrollLine(household_id=h, member_id=m, post_id=p, amount_fen=fen) for h, m, p, fen in lines],
    )  # fmt: skip


def test_a_plans_shares_are_household_holders_of_its_own_cycle_and_reference() -> None:
    order = plan_order(_plan((A, 60_001), (B, 39_999)))
    assert (order.cycle_id, order.kind, order.programme_code, order.order_ref) == (
        PLAN_ID,
        PLAN,
        PolicyCode.PROJECT_INCOME_SHARE,
        str(PLAN_ID),
    )
    assert (order.area_code, order.approved_by, order.total_fen) == ("371523101", "approver-1", 100_000)
    assert [(line.household_id, line.holder_key, line.amount_fen) for line in order.lines] == [
        (A, "-", 60_001),
        (B, "-", 39_999),
    ]
    assert order.lines[0].facts == {
        "projects.plan_id": str(PLAN_ID),
        "projects.income_id": str(INCOME_ID),
        "projects.project_id": str(UUID(int=7)),
    }


def test_a_payrolls_lines_are_member_holders_of_the_months_one_payroll() -> None:
    order = payroll_order(_payroll((A, MEMBER, POST, 60_000), (B, OTHER_MEMBER, POST, 30_000)))
    assert (order.cycle_id, order.kind, order.programme_code, order.order_ref) == (
        PAYROLL_ID,
        PAYROLL,
        PolicyCode.PUBLIC_WELFARE_JOB_SUBSIDY,
        NO_ORDER_REF,
    )
    assert [(line.member_id, line.holder_key, line.amount_fen) for line in order.lines] == [
        (MEMBER, str(MEMBER), 60_000),
        (OTHER_MEMBER, str(OTHER_MEMBER), 30_000),
    ]
    assert order.lines[0].facts == {"projects.payroll_id": str(PAYROLL_ID), "projects.post_ids": [str(POST)]}


def test_a_member_holding_two_posts_in_the_month_is_one_holder_paid_both() -> None:
    order = payroll_order(_payroll((A, MEMBER, POST, 29_032), (B, OTHER_MEMBER, POST, 1), (A, MEMBER, SECOND_POST, 9)))
    assert [(line.member_id, line.amount_fen) for line in order.lines] == [(MEMBER, 29_041), (OTHER_MEMBER, 1)]
    assert order.lines[0].facts["projects.post_ids"] == [str(POST), str(SECOND_POST)]
    assert order.total_fen == 29_042  # every fen of the payroll, once


def test_an_entitlements_explanation_names_the_order_and_its_approver() -> None:
    order = plan_order(_plan((A, 500)))
    [line] = explanation(order, order.lines[0])
    assert (line["fact"], line["expected"], line["actual"], line["holds"]) == (
        "projects.plan_id",
        str(PLAN_ID),
        str(PLAN_ID),
        True,
    )
    assert line["reason"] == (
        f"decided by distribution plan {PLAN_ID} of 2020-06, approved in projects by approver-1: 500 fen to the "
        "household"
    )


def test_a_subsidy_is_paid_for_a_period_that_has_begun_never_a_future_one() -> None:
    today = date(2020, 6, 1)
    assert period_begun("2020-06", today=today)
    assert period_begun("2019-12", today=today)
    assert not period_begun("2020-07", today=today)
