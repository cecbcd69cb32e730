"""Bodies of a cycle (发放周期), its entitlement list, its public notice (公示) and the objections raised to it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.subsidies.rules.periods import ANY_PERIOD_PATTERN
from services.subsidies.rules.vocabulary import CycleStatus, DecidedBy, EntitlementStatus, ObjectionDecision
from shared.contracts.subsidies import PolicyCode
from shared.personal_data import ScreenedPaymentText
from shared.schemas import RequestBody

# What an officer writes about an objection: published nowhere, yet screened, so no ID-card or bank account number
# is ever kept.
# The constraints come before the screening, or the JSON Schema would not state them.
Note = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), *get_args(ScreenedPaymentText)[1:]
]
CyclePeriod = Annotated[
    str,
    Field(
        pattern=ANY_PERIOD_PATTERN,
        description="written by the programme's frequency: YYYY-MM (monthly, one-off), YYYY-S1 or YYYY-S2 (termly), "
        "YYYY (yearly); a period that has begun",
        examples=["2020-06"],
    ),
]


class CycleCreate(RequestBody):
    """Open a programme's cycle for one period: a draft whose entitlement list is computed next."""

    example: ClassVar[dict[str, Any]] = {"programme_code": "dibao", "period": "2020-06"}

    programme_code: PolicyCode = Field(
        description="a programme of the catalogue (政策目录); one outside it is refused with `unknown_policy`"
    )
    period: CyclePeriod


class NoticeCreate(RequestBody):
    """Post the computed list for public notice (公示): objections may be raised from `starts_on` to `ends_on`."""

    example: ClassVar[dict[str, Any]] = {"starts_on": "2020-06-03", "ends_on": "2020-06-09"}

    starts_on: date = Field(description="the first day of the notice and of its objection window; today or later")
    ends_on: date = Field(
        description="the last day of the objection window; the notice lasts at least SUBSIDIES_NOTICE_DAYS days"
    )


class ObjectionCreate(RequestBody):
    """Record an objection raised during the public notice: about a listed entitlement, or a household left out."""

    example: ClassVar[dict[str, Any]] = {
        "household_id": "6f1d1bb0-5c3a-4e1e-9a57-2d8c0b7e4a10",
        "grounds": "该户家中有营运车辆，不符合低保条件",
        "raised_on": "2020-06-04",
    }

    household_id: UUID = Field(description="the household the objection is about, registered with subsidies")
    entitlement_id: UUID | None = Field(
        default=None,
        description="the listed entitlement objected to (one of the household's in this cycle); omitted: the "
        "household, or one of its members, was left out of the list",
    )
    grounds: Note = Field(description="what the objector says, in their words (no ID-card or bank account number)")
    raised_on: date = Field(description="the day it was raised: within the notice window, not after today")


class ObjectionDecisionCreate(RequestBody):
    """Decide an objection: upheld or dismissed, with the reasons."""

    example: ClassVar[dict[str, Any]] = {"decision": "upheld", "note": "经入户核实，该户有营运车辆，取消本期资格"}

    decision: ObjectionDecision = Field(
        description="upheld: a listed entitlement is withdrawn; a household left out needs its facts fixed and the "
        "list computed again before submission. dismissed: the list stands"
    )
    note: Note = Field(description="why, as found (入户核实, a department's record)")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CycleRead(Output):
    """A cycle as it stands, with its list's counts (the listed entitlements only)."""

    id: UUID
    programme_code: PolicyCode
    period: str
    # Defaults: a create's answer remembered for its Idempotency-Key before these fields existed replays as it was.
    origin: DecidedBy = Field(
        default=DecidedBy.CATALOGUE,
        description="catalogue: computed here by the programme's rule, posted, submitted and approved here; projects: "
        "an approved distribution plan or payroll (its id this cycle's), approved when it arrived",
    )
    order_ref: str = Field(default="", description="the distribution plan's id for a plan's cycle; empty otherwise")
    status: CycleStatus
    version_id: UUID | None = Field(description="the programme version the list was computed (or re-checked) with")
    entitled_count: int = Field(description="entitlements listed (withdrawn ones not counted)")
    total_fen: int = Field(description="what the listed entitlements cost, in fen")
    notice_starts_on: date | None
    notice_ends_on: date | None = Field(description="the last day of the objection window")
    created_by: str
    created_at: datetime
    computed_by: str | None
    computed_at: datetime | None
    submitted_by: str | None
    submitted_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    paid_at: datetime | None = Field(description="when the last listed entitlement was paid")
    closed_at: datetime | None


class ApprovalRead(CycleRead):
    """An approved cycle, with what the re-check of its list against the facts known at approval changed."""

    withdrawn_count: int = Field(description="entitlements withdrawn: no longer entitled when re-checked")
    amended_count: int = Field(description="entitlements whose amount or version changed when re-checked")


class EntitlementRead(Output):
    """One holder's entitlement in a cycle: the household's own (`member_id` null) or a member's."""

    id: UUID
    cycle_id: UUID
    household_id: UUID
    member_id: UUID | None
    area_code: str = Field(description="the household's village when the list was computed")
    amount_fen: int
    version_id: UUID
    status: EntitlementStatus
    withdrawn_reason: str | None


class ConditionRead(BaseModel):
    """One condition of the rule, the holder's fact and whether it held."""

    fact: str
    op: str
    expected: Any
    actual: Any = Field(description="the fact's value as decided on; null when not known")
    holds: bool
    reason: str = Field(description="the check in one line of plain words")


class EntitlementDetail(EntitlementRead):
    """An entitlement with the snapshot it was decided on: the facts, and the rule condition by condition."""

    facts: dict[str, Any] = Field(description="each fact's value as of the period's first day, when decided")
    explanation: list[ConditionRead] = Field(
        max_length=100,
        description="each condition of the version's rule; for a cycle of projects' order, one line naming the plan "
        "or payroll that decided it and who approved it",
    )


class NoticeEntryRead(BaseModel):
    """One line of the public notice (公示名单) as a village posts it: masked name and ID number, never more."""

    entitlement_id: UUID
    household_id: UUID
    member_id: UUID | None
    village_code: str
    name_masked: str | None = Field(description="the member's, or for a household's programme the head's: 张*三")
    id_masked: str | None = Field(description="the same person's ID number, masked: 3715**********1234")
    amount_fen: int


class ObjectionRead(Output):
    """An objection raised during the notice, and how it was decided."""

    id: UUID
    cycle_id: UUID
    household_id: UUID
    entitlement_id: UUID | None
    grounds: str
    raised_on: date
    recorded_by: str
    recorded_at: datetime
    decision: ObjectionDecision | None
    decision_note: str | None
    decided_by: str | None
    decided_at: datetime | None
