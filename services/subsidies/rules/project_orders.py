"""Projects' orders as subsidies pays them: an approved distribution plan of an asset's income (收益分配方案) or a
month's payroll of public-welfare posts (公益岗位工资表), read from its event into the one shape a cycle approved
already is made from. Pure: the event in, the order out.

Who is paid and how much was decided and approved in projects (preparer, reviewer and approver apart), so nothing is
judged again here: each share or line becomes a listed entitlement of the amount the event states, with what the
event says as its snapshot and one line of explanation naming the order and who approved it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.subsidies.rules.vocabulary import holder_key
from shared.contracts.projects import IncomeDistributionApproved, PayrollApproved
from shared.contracts.subsidies import PolicyCode

PLAN = "distribution plan"
PAYROLL = "payroll"
# The cycle of the month's payroll: one a month, so it names no order of its own (a second is refused by the cycle's
# unique key). Each plan's cycle names its plan: a month may have many.
NO_ORDER_REF = ""


@dataclass(frozen=True)
class OrderLine:
    """One holder paid by the order: the household (a plan's share) or a member (a post holder's allowance)."""

    household_id: UUID
    member_id: UUID | None
    amount_fen: int
    facts: dict[str, Any]

    @property
    def holder_key(self) -> str:
        return holder_key(self.member_id)


@dataclass(frozen=True)
class Order:
    """An approved plan or payroll: the cycle it becomes (its id the order's), who approved it, and its lines. A
    holder subsidies does not know yet is placed in `area_code` (the plan owner's area; a payroll states none)."""

    cycle_id: UUID
    kind: str
    programme_code: PolicyCode
    period: str
    order_ref: str
    approved_by: str
    area_code: str
    lines: tuple[OrderLine, ...]

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)


def plan_order(event: IncomeDistributionApproved) -> Order:
    """A plan's shares, one per household, each with the plan, the income it shares and the project that earned it."""
    said = {
        "projects.plan_id": str(event.plan_id),
        "projects.income_id": str(event.income_id),
        "projects.project_id": str(event.project_id),
    }
    lines = [OrderLine(share.household_id, None, share.amount_fen, said) for share in event.shares]
    return Order(
        cycle_id=event.plan_id,
        kind=PLAN,
        programme_code=PolicyCode.PROJECT_INCOME_SHARE,
        period=event.period,
        order_ref=str(event.plan_id),
        approved_by=event.approved_by,
        area_code=event.owner_area_code,
        lines=merged(lines),
    )


def payroll_order(event: PayrollApproved) -> Order:
    """A payroll's lines, one per post holder (a member who held two posts in the month is paid both, once)."""
    lines = [
        OrderLine(
            line.household_id,
            line.member_id,
            line.amount_fen,
            {"projects.payroll_id": str(event.payroll_id), "projects.post_ids": [str(line.post_id)]},
        )
        for line in event.lines
    ]
    return Order(
        cycle_id=event.payroll_id,
        kind=PAYROLL,
        programme_code=PolicyCode.PUBLIC_WELFARE_JOB_SUBSIDY,
        period=event.period,
        order_ref=NO_ORDER_REF,
        approved_by=event.approved_by,
        area_code="",
        lines=merged(lines),
    )


def merged(lines: list[OrderLine]) -> tuple[OrderLine, ...]:
    """One line per holder, in the order first named: a cycle lists a holder once, so a holder named twice (a member
    holding two posts in one month) is paid the sum, the posts all kept in the snapshot."""
    by_holder: dict[tuple[UUID, str], OrderLine] = {}
    for line in lines:
        key = (line.household_id, line.holder_key)
        if (earlier := by_holder.get(key)) is None:
            by_holder[key] = line
            continue
        posts = [*earlier.facts.get("projects.post_ids", []), *line.facts.get("projects.post_ids", [])]
        facts = earlier.facts | ({"projects.post_ids": posts} if posts else {})
        by_holder[key] = OrderLine(line.household_id, line.member_id, earlier.amount_fen + line.amount_fen, facts)
    return tuple(by_holder.values())


def explanation(order: Order, line: OrderLine) -> list[dict[str, object]]:
    """Why the holder is listed, as an entitlement's explanation is read: one line naming the order and its approver."""
    fact = "projects.plan_id" if order.kind == PLAN else "projects.payroll_id"
    holder = "the household" if line.member_id is None else "the post holder"
    return [
        {
            "fact": fact,
            "op": "eq",
            "expected": str(order.cycle_id),
            "actual": str(order.cycle_id),
            "holds": True,
            "reason": f"decided by {order.kind} {order.cycle_id} of {order.period}, approved in projects by "
            f"{order.approved_by}: {line.amount_fen} fen to {holder}",
        }
    ]
