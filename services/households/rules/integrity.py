"""Integrity checks (核查比对): what a hit is, and how a conflict of interest (优亲厚友) is told to audit.

A person with power over benefits (a village or township cadre, a helper cadre, an officer who approves) among a
beneficiary household's members, or their close relative there, or their approval of a list paying a household
that holds them or their relative, is a severe problem of conduct: audit refers it to the discipline commission
at once. The event names the power holder as who answers for it, and the kind of tie (配偶, 父母 ...), never an
ID-card number or the relative's name: the register knows relatives only by the keyed hash of their number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from shared.contracts.accountability import ResponsiblePerson, ResponsibleRole, Severity
from shared.contracts.households import HouseholdProblemFound, ProblemCategory
from shared.ids import uuid7

FOUND_BY = "integrity_check"  # the check found it, not whoever registered the person that set it off
MAX_RELATIVES = 50
"""Relatives recorded for one power holder (ended ones included); one more is refused."""
MAX_EVIDENCE = 20
"""References a hit's evidence holds: the ids it rests on, the first payments among them."""


class HitKind(StrEnum):
    """What an integrity check found (核查比对发现的问题)."""

    HOLDER_BENEFICIARY = "holder_beneficiary"  # a power holder is a member of a beneficiary household
    RELATIVE_BENEFICIARY = "relative_beneficiary"  # a power holder's close relative is (优亲厚友)
    APPROVAL_OF_RELATIVE = "approval_of_relative"  # a holder approved a list paying their own or a relative's household
    DIBAO_WITH_COMPANY = "dibao_with_company"  # a 低保 member registered with a company (市场监管)
    DIBAO_WITH_VEHICLE = "dibao_with_vehicle"  # a 低保 member with a car or truck (公安交管)
    DIBAO_WITH_PUBLIC_SALARY = "dibao_with_public_salary"  # a 低保 member on a public payroll (财政供养)
    PAID_AFTER_DEATH = "paid_after_death"  # paid for a period that began after the member's death
    COUNTED_AFTER_DEATH = "counted_after_death"  # still counted after a death reported later


CONFLICTS = frozenset({HitKind.HOLDER_BENEFICIARY, HitKind.RELATIVE_BENEFICIARY, HitKind.APPROVAL_OF_RELATIVE})


class PowerRole(StrEnum):
    """The power a holder has over benefits (the responsible roles a power holder may hold)."""

    VILLAGE_CADRE = ResponsibleRole.VILLAGE_CADRE.value  # 村干部: proposes and publicises the lists
    TOWNSHIP_OFFICER = ResponsibleRole.TOWNSHIP_OFFICER.value  # 乡镇干部: reviews them
    HELPER_CADRE = ResponsibleRole.HELPER_CADRE.value  # 帮扶责任人: collects the facts they are decided from
    PAYMENT_APPROVER = ResponsibleRole.PAYMENT_APPROVER.value  # 审批人: approves lists and payments


class RelativeKind(StrEnum):
    """近亲属: the close relatives whose benefit is a conflict of interest."""

    SPOUSE = "spouse"  # 配偶
    PARENT = "parent"  # 父母
    CHILD = "child"  # 子女
    SIBLING = "sibling"  # 兄弟姐妹
    PARENT_IN_LAW = "parent_in_law"  # 公婆 / 岳父母
    CHILD_IN_LAW = "child_in_law"  # 儿媳 / 女婿
    GRANDCHILD = "grandchild"  # 孙子女 / 外孙子女
    GRANDPARENT = "grandparent"  # 祖父母 / 外祖父母


class ApprovalSource(StrEnum):
    """Whose approval of a list paying households is on record (`ApprovalRecord.source`)."""

    SUBSIDIES_CYCLE = "subsidies_cycle"  # a cycle's entitlement list (审批), from subsidies
    PROJECTS_PLAN = "projects_plan"  # an income distribution plan (收益分配方案), from projects
    PROJECTS_PAYROLL = "projects_payroll"  # a month's payroll of public-welfare posts (公益岗位工资表)


@dataclass(frozen=True)
class Approval:
    """Who approved a list paying households; `programme` and `period` are those its payments carry."""

    order_id: UUID
    source: ApprovalSource
    approved_by: str
    programme: str
    period: str


@dataclass(frozen=True)
class Holder:
    """A power holder as a hit names them: the official role, never their ID number."""

    id: UUID
    person_id: str
    name: str
    post: str
    area_code: str


@dataclass(frozen=True)
class Match:
    """A registered member whose ID number's keyed hash is a power holder's (`relative_id` None) or one of their
    relatives'."""

    member_id: UUID
    household_id: UUID
    area_code: str
    holder: Holder
    relative_id: UUID | None = None
    relationship: str | None = None


@dataclass(frozen=True)
class Hit:
    """A hit as stored (`IntegrityHit`'s row) and as told to audit."""

    row: dict[str, Any]
    event: HouseholdProblemFound


def responsible(holder: Holder) -> ResponsiblePerson:
    """The power holder answers for the conflict: their post and area are their unit."""
    return ResponsiblePerson(
        person_id=holder.person_id,
        name=holder.name,
        unit=f"{holder.post} ({holder.area_code})",
        role=ResponsibleRole.POWER_HOLDER,
    )


def description(kind: HitKind, match: Match, approval: Approval | None = None) -> str:
    """What audit's finding says: the kind, the holder's post and the tie, never a number or a relative's name."""
    who = "the holder" if match.relationship is None else f"the holder's {match.relationship}"
    post = f"{match.holder.post} ({match.holder.area_code})"
    if kind is HitKind.APPROVAL_OF_RELATIVE and approval is not None:
        return (
            f"优亲厚友 ({kind.value}): {post} approved {approval.source.value} {approval.order_id} "
            f"({approval.programme} {approval.period}), paying this household, of which {who} is a member"
        )
    return f"优亲厚友 ({kind.value}): {who}, {post}, is a member of this beneficiary household"


def beneficiary_kind(match: Match) -> HitKind:
    return HitKind.HOLDER_BENEFICIARY if match.relative_id is None else HitKind.RELATIVE_BENEFICIARY


def evidence(
    match: Match, approval: Approval | None = None, payments: list[UUID] | None = None
) -> list[dict[str, Any]]:
    """The hit's evidence, ids only: the holder, the relative, the approved list, the payments."""
    refs: list[dict[str, Any]] = [{"type": "power_holder", "id": str(match.holder.id)}]
    if match.relative_id is not None:
        refs.append({"type": "relative", "id": str(match.relative_id)})
    if approval is not None:
        refs.append({"type": approval.source.value, "id": str(approval.order_id)})
    refs.extend({"type": "payment", "id": str(p)} for p in payments or [])
    return refs[:MAX_EVIDENCE]


def conflict_hit(
    match: Match,
    *,
    approval: Approval | None = None,
    payments: list[UUID] | None = None,
    today: date,
    now: datetime,
) -> Hit:
    """The hit of a conflict of interest: a beneficiary's (by the holder, once per member and holder), or an
    approval's (once per member and approved list); severe, found today."""
    kind = beneficiary_kind(match) if approval is None else HitKind.APPROVAL_OF_RELATIVE
    ref = str(match.holder.id) if approval is None else str(approval.order_id)
    problem_id = uuid7()
    row = {
        "id": uuid7(),
        "kind": kind.value,
        "household_id": match.household_id,
        "member_id": match.member_id,
        "ref": ref,
        "holder_id": match.holder.id,
        "evidence": evidence(match, approval, payments),
        "found_on": today,
        "problem_id": problem_id,
        "recorded_at": now,
    }
    event = HouseholdProblemFound(
        household_id=match.household_id,
        problem_id=problem_id,
        area_code=match.area_code,
        category=ProblemCategory.CONDUCT,
        code=kind.value,
        description=description(kind, match, approval),
        found_on=today,
        found_by=FOUND_BY,
        severity=Severity.SEVERE,
        responsible=responsible(match.holder),
    )
    return Hit(row, event)
