"""Bodies of an eligibility explanation (享受政策资格): why a household or its members are, or are not, entitled."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from services.subsidies.models import CycleEntitlement
from services.subsidies.rules.eligibility import Decision
from services.subsidies.rules.vocabulary import CycleStatus, EntitlementStatus, ProgrammeUnit
from services.subsidies.schemas.programmes import MAX_CONDITIONS, MAX_LISTED_VALUES, Value, VersionRead
from shared.contracts.subsidies import PolicyCode

# A household holds at most 30 members (the register's limit), living or not.
MAX_HOLDERS = 30
Actual = int | bool | str | Annotated[list[str], Field(max_length=MAX_LISTED_VALUES)] | None


class CheckRead(BaseModel):
    """One condition of the rule on one holder: the fact's value, the value required, and whether it held."""

    fact: str
    op: str
    expected: Value
    actual: Actual = Field(description="the fact's value on the period's first day; null: not known")
    holds: bool
    reason: str = Field(description="the condition and its outcome in one plain line")


class HolderInCycle(BaseModel):
    """Where the holder stands in the programme's cycle of the period, as its list says now."""

    status: Literal["listed", "withdrawn", "not_listed"] = Field(
        description="listed; withdrawn (an objection upheld, or no longer entitled when re-checked); or not on the list"
    )
    entitlement_id: UUID | None = Field(description="the holder's entitlement in the cycle; null when not listed")
    amount_fen: int | None = Field(description="what the list entitles the holder to; null when not listed")
    withdrawn_reason: str | None = Field(description="why the entitlement was withdrawn")


class HolderEligibility(BaseModel):
    """Whether one holder (the household, or one member) is entitled, for how much, and each condition's check."""

    member_id: UUID | None = Field(description="the member, for a member programme; null: the household")
    name_masked: str | None = Field(description="the member's name as a public notice shows it")
    entitled: bool = Field(description="entitled to an amount for the period, as a cycle computed now would list")
    amount_fen: int = Field(description="what the holder would be paid for the period; 0 when not entitled")
    checks: list[CheckRead] = Field(
        max_length=MAX_CONDITIONS + 2,  # the engine's two: living, and not exited without policies
        description="the engine's own conditions first (a member living on the first day, or a household with a "
        "living member; the household not exited without policies), unless the rule states them, then the rule's "
        "conditions",
    )
    in_cycle: HolderInCycle | None = Field(
        description="the holder in the programme's cycle of the period; null: no such cycle yet"
    )


class EligibilityRead(BaseModel):
    """A household's eligibility for a programme and period, rule by rule, by the version in force then."""

    household_id: UUID
    area_code: str
    programme_code: PolicyCode
    unit: ProgrammeUnit
    period: str
    version: VersionRead = Field(description="the version in force on the period's first day")
    cycle_id: UUID | None = Field(description="the programme's cycle of the period; null: none yet")
    cycle_status: CycleStatus | None = Field(description="that cycle's status")
    holders: list[HolderEligibility] = Field(
        max_length=MAX_HOLDERS, description="the household, or each of its members for a member programme"
    )


def checks_of(decision: Decision) -> list[CheckRead]:
    """A decision's checks as they are read."""
    return [CheckRead.model_validate(check) for check in decision.explanation()]


def in_cycle(entitlement: CycleEntitlement | None) -> HolderInCycle:
    """A holder's place in the cycle: their entitlement, or not on the list (None)."""
    if entitlement is None:
        return HolderInCycle(status="not_listed", entitlement_id=None, amount_fen=None, withdrawn_reason=None)
    status: Literal["listed", "withdrawn"] = "listed" if entitlement.status == EntitlementStatus.LISTED else "withdrawn"
    return HolderInCycle(
        status=status,
        entitlement_id=entitlement.id,
        amount_fen=entitlement.amount_fen,
        withdrawn_reason=entitlement.withdrawn_reason,
    )
