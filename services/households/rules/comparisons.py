"""Data comparisons (数据比对), as pure rules: which departments' facts disqualify a household on 低保 or 特困供养
(a member with a registered company, a car or truck, a public salary), when a payment counted for a member was one
for a period after their death, and the problem each hit is published as (never an ID number or a name).

A death and a payment meet in either order, and the order names the hit: `paid_after_death` when the payment came
after the register knew of the death (subsidies was told, `MemberDied`, and paid anyway); `counted_after_death` when
the death came after such a payment was already counted (the death was reported late, dated before a payment made
meanwhile, and the household went on counting the member and the money).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from services.households.rules.integrity import FOUND_BY, MAX_EVIDENCE, Hit, HitKind
from services.households.rules.vocabulary import DataKind
from shared.contracts.accountability import ResponsiblePerson, Severity
from shared.contracts.households import HouseholdProblemFound, MinimumAllowance, ProblemCategory
from shared.ids import uuid7


class CompanyRole(StrEnum):
    """市场监管: how a person stands in a registered company."""

    LEGAL_REPRESENTATIVE = "legal_representative"  # 法定代表人
    SHAREHOLDER = "shareholder"  # 股东


class VehicleKind(StrEnum):
    """公安交管: the kind of vehicle registered (the plate is never sent)."""

    CAR = "car"  # 小型汽车
    TRUCK = "truck"  # 货车
    OTHER = "other"  # 摩托车, 农用三轮车 ...: not a sign of means


class EmployerKind(StrEnum):
    """财政/人社: who pays a public salary (财政供养人员)."""

    CIVIL_SERVICE = "civil_service"  # 公务员
    PUBLIC_INSTITUTION = "public_institution"  # 事业单位
    STATE_ENTERPRISE = "state_enterprise"  # 国有企业


# The departments' kinds that are compared with the register rather than applied to it, and the hit each yields.
COMPARED: dict[DataKind, HitKind] = {
    DataKind.MARKET_REGULATION: HitKind.DIBAO_WITH_COMPANY,
    DataKind.VEHICLE_REGISTRATION: HitKind.DIBAO_WITH_VEHICLE,
    DataKind.PUBLIC_PAYROLL: HitKind.DIBAO_WITH_PUBLIC_SALARY,
}
ON_ALLOWANCE = frozenset({MinimumAllowance.DIBAO, MinimumAllowance.EXTREME_POVERTY})
_WHAT = {
    HitKind.DIBAO_WITH_COMPANY: "is registered with a company (市场监管: legal representative or shareholder)",
    HitKind.DIBAO_WITH_VEHICLE: "has a car or truck registered (公安交管)",
    HitKind.DIBAO_WITH_PUBLIC_SALARY: "is on a public payroll (财政供养)",
}
_PERIOD = re.compile(r"^([0-9]{4})(?:-(0[1-9]|1[0-2])|-S([12]))?$")


def disqualifying(kind: DataKind, row: Mapping[str, Any]) -> bool:
    """Whether a department's row states what its comparison looks for: any company role or public salary, a vehicle
    only when it is a car or a truck."""
    if kind is DataKind.VEHICLE_REGISTRATION:
        return row["vehicle_kind"] in (VehicleKind.CAR, VehicleKind.TRUCK)
    return kind in COMPARED


def on_allowance_with(kind: DataKind, row: Mapping[str, Any], *, allowance: str, died_on: date | None) -> bool:
    """Whether a row matched to a member is a hit: the member living, the household on 低保 or 特困供养, and the row
    stating what its comparison looks for."""
    return died_on is None and allowance in ON_ALLOWANCE and disqualifying(kind, row)


def period_first_day(period: str) -> date:
    """The first day of a subsidy's period: YYYY-MM its month's, YYYY-S1 1 January, YYYY-S2 1 July (the terms as
    subsidies pays them), YYYY 1 January; ValueError for a period of no known form."""
    match = _PERIOD.fullmatch(period)
    if match is None:
        raise ValueError("not a subsidy period (YYYY-MM, YYYY-S1, YYYY-S2 or YYYY)")
    year, month, term = match.groups()
    if month:
        return date(int(year), int(month), 1)
    return date(int(year), 7 if term == "2" else 1, 1)


def paid_for_after(period: str | None, died_on: date) -> bool:
    """Whether a payment was for a period that began after the death (the month of the death itself was owed)."""
    return period is not None and period_first_day(period) > died_on


@dataclass(frozen=True)
class Matched:
    """A registered member a comparison matched, and what its finding needs: the household and who answers (its
    helper cadre, 帮扶责任人; None when unassigned, and audit names the area's officer)."""

    member_id: UUID
    household_id: UUID
    area_code: str
    responsible: ResponsiblePerson | None


@dataclass(frozen=True)
class Payment:
    """A payment counted for a member: its id, programme and period (the receipt's)."""

    payment_id: UUID
    policy_code: str | None
    period: str | None


def allowance_hit(
    kind: DataKind, matched: Matched, batch_id: UUID, rows: Sequence[int], *, today: date, now: datetime
) -> Hit:
    """The hit of a 低保/特困供养 member in a department's `kind` data, once per member and batch; its evidence the
    batch and the rows of it that matched the member (the first `MAX_EVIDENCE`: a person may hold many companies)."""
    hit_kind = COMPARED[kind]
    shown = rows[:MAX_EVIDENCE]
    evidence: list[dict[str, Any]] = [{"type": "department_batch", "id": str(batch_id), "row": row} for row in shown]
    listed = ", ".join(map(str, shown)) + (f" and {len(rows) - len(shown)} more" if len(rows) > len(shown) else "")
    text = (
        f"数据比对 ({hit_kind.value}): member {matched.member_id} of a household on 低保/特困供养 {_WHAT[hit_kind]}; "
        f"{kind.value} batch {batch_id}, row {listed}"
    )
    return _hit(hit_kind, matched, str(batch_id), evidence, text, today=today, now=now)


def death_hit(kind: HitKind, matched: Matched, payment: Payment, *, died_on: date, today: date, now: datetime) -> Hit:
    """The hit of a payment counted for a member for a period after their death, once per member and payment:
    `paid_after_death` (the death was known when the payment came) or `counted_after_death` (it came later)."""
    when = "after the death was recorded" if kind is HitKind.PAID_AFTER_DEATH else "before the death was reported"
    text = (
        f"数据比对 ({kind.value}): member {matched.member_id}, dead since {died_on}, was paid "
        f"{payment.policy_code} for {payment.period} (payment {payment.payment_id}, received {when})"
    )
    evidence: list[dict[str, Any]] = [{"type": "payment", "id": str(payment.payment_id)}]
    return _hit(kind, matched, str(payment.payment_id), evidence, text, today=today, now=now)


def _hit(
    kind: HitKind,
    matched: Matched,
    ref: str,
    evidence: list[dict[str, Any]],
    text: str,
    *,
    today: date,
    now: datetime,
) -> Hit:
    """A comparison's hit as stored and as told to audit: policy delivery (政策落实), serious, found today."""
    problem_id = uuid7()
    row = {
        "id": uuid7(),
        "kind": kind.value,
        "household_id": matched.household_id,
        "member_id": matched.member_id,
        "ref": ref,
        "evidence": evidence,
        "found_on": today,
        "problem_id": problem_id,
        "recorded_at": now,
    }
    event = HouseholdProblemFound(
        household_id=matched.household_id,
        problem_id=problem_id,
        area_code=matched.area_code,
        category=ProblemCategory.POLICY_DELIVERY,
        code=kind.value,
        description=text,
        found_on=today,
        found_by=FOUND_BY,
        severity=Severity.SERIOUS,
        responsible=matched.responsible,
    )
    return Hit(row, event)
