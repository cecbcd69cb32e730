"""Bodies of the programme catalogue (政策目录): programmes, their versions (standards) and their funds."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.subsidies.rules.eligibility import FACTS, OPERATORS
from services.subsidies.rules.vocabulary import DecidedBy, Frequency, ProgrammeUnit
from shared.contracts.subsidies import PolicyCode
from shared.money import Fen
from shared.personal_data import ScreenedPaymentText
from shared.schemas import RequestBody
from shared.timeutil import CALENDAR_YEARS

MAX_CONDITIONS = 20
MAX_LISTED_VALUES = 30
# A programme's read shows its newest versions; the whole history is paged at /v1/programmes/{code}/versions.
NEWEST_VERSIONS = 20

# A code a fact holds (`dibao`, `D`, `large_medical_expense`), as a rule's value or one of its listed values.
Code = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")]
Value = int | bool | Code | Annotated[list[int | Code], Field(max_length=MAX_LISTED_VALUES)]


class Condition(BaseModel):
    """One condition of an eligibility rule: a fact, an operator and the value it is compared with."""

    model_config = ConfigDict(extra="forbid")

    fact: str = Field(
        description="a fact subsidies keeps (the rule language's facts); a member's fact only in a member programme",
        json_schema_extra={"enum": list(FACTS)},
        examples=["household.allowance"],
    )
    op: str = Field(
        description="eq, ne, in, not_in (codes, numbers); lt, lte, gt, gte (numbers); eq, ne (true/false); "
        "contains (a set of codes)",
        json_schema_extra={"enum": list(OPERATORS)},
        examples=["eq"],
    )
    value: Value = Field(
        description="of the fact's type (a code of the fact, a whole number, true or false); a non-empty list for "
        "in and not_in",
        examples=["dibao"],
    )


# At least one condition: an empty rule is refused by the catalogue with its own code, `no_fact_source`.
Rule = Annotated[list[Condition], Field(max_length=MAX_CONDITIONS)]

RULE = (
    "the eligibility rule: conditions on facts, all of which must hold; at least one (a programme must have a source "
    "of facts: `no_fact_source`); each checked for its fact, operator and value (errors name `body.rule.<i>`)"
)
FREQUENCY = (
    "how often it pays, hence how its periods are written. A one-off programme pays a holder once: 危房改造 once "
    "ever; 临时救助 and 医疗救助 (hardships that can come back) once a year. A holder another approved or paid cycle "
    "of it lists, or paid for it, is left out of its lists and refused a payment by hand (`one_off_paid`)"
)
EFFECTIVE_FROM = "the first day the standard is in force; it stays in force until the next version's"

DIBAO_RULE = [
    {"fact": "household.allowance", "op": "eq", "value": "dibao"},
    {"fact": "household.status", "op": "ne", "value": "exited_no_policies"},
]


class VersionCreate(RequestBody):
    """A new standard of a programme: its amount and rule from a day, and why it changed."""

    example: ClassVar[dict[str, Any]] = {
        "effective_from": "2021-01-01",
        "amount_fen": 27_000,
        "per_member": True,
        "rule": DIBAO_RULE,
        "reason": "2021 低保 standard raised to 5,400 yuan a year (区民政局 2020-12 通知)",
    }

    effective_from: date = Field(description=f"{EFFECTIVE_FROM}; after the latest version's")
    amount_fen: Annotated[Fen, Field(gt=0, description="per holder and period, in integer fen")]
    per_member: bool = Field(
        default=False, description="a household programme's amount is per living member (低保); false for members'"
    )
    rule: Rule = Field(description=RULE)
    reason: ScreenedPaymentText = Field(min_length=1, max_length=500, description="why the standard was set or changed")


class ProgrammeCreate(VersionCreate):
    """A programme entered in the catalogue, with its first version."""

    example: ClassVar[dict[str, Any]] = {
        "code": "dibao",
        "name": "农村最低生活保障 (低保)",
        "unit": "household",
        "frequency": "monthly",
        "funding_source": "中央和省级财政困难群众救助补助资金",
        "effective_from": "2020-01-01",
        "amount_fen": 25_800,
        "per_member": True,
        "rule": DIBAO_RULE,
        "reason": "the district's 2020 standard: 5,160 yuan a person a year",
    }

    code: PolicyCode = Field(description="a programme of the report (`PolicyCode`), not yet in the catalogue")
    name: ScreenedPaymentText = Field(min_length=1, max_length=100)
    unit: ProgrammeUnit = Field(description="whom it pays: the household, or each entitled member")
    frequency: Frequency = Field(description=FREQUENCY)
    funding_source: ScreenedPaymentText = Field(min_length=1, max_length=100, description="资金来源")


class FundCreate(RequestBody):
    """Money allocated to a programme for a year (资金下达)."""

    example: ClassVar[dict[str, Any]] = {
        "year": 2020,
        "amount_fen": 86_000_000,
        "source": "鲁财社〔2020〕1号 中央财政困难群众救助补助资金",
    }

    year: int = Field(ge=CALENDAR_YEARS.start, le=CALENDAR_YEARS.stop - 1)
    amount_fen: Annotated[Fen, Field(gt=0)]
    source: ScreenedPaymentText = Field(min_length=1, max_length=200, description="the allocation document (文号)")


class ConditionRead(BaseModel):
    fact: str
    op: str
    value: Value


class VersionRead(BaseModel):
    """One standard of a programme: a step of its change history, with who set it, when and why."""

    id: UUID
    programme_code: PolicyCode
    version: int
    effective_from: date
    amount_fen: int
    per_member: bool
    rule: list[ConditionRead] = Field(max_length=MAX_CONDITIONS)
    reason: str
    created_by: str
    created_at: datetime


class ProgrammeRead(BaseModel):
    """A programme of the catalogue, with the version in force today (None before its first takes effect)."""

    code: PolicyCode
    name: str
    unit: ProgrammeUnit
    frequency: Frequency = Field(description=FREQUENCY)
    funding_source: str
    decided_by: DecidedBy = Field(
        default=DecidedBy.CATALOGUE,  # a create's answer remembered before the field existed replays as it was
        description="catalogue: its rule decides who is paid (cycles computed here); projects: paid only from "
        "projects' approved distribution plans and payrolls (no cycle opened, version added, payment by hand or "
        "check of it here)",
    )
    created_by: str
    created_at: datetime
    in_force: VersionRead | None = Field(description="the version in force today")


class ProgrammeDetail(ProgrammeRead):
    """A programme with its change history: its newest versions first (all of them at `/versions`)."""

    versions: list[VersionRead] = Field(max_length=NEWEST_VERSIONS, description="the newest versions first")


class FundRead(BaseModel):
    id: UUID
    programme_code: PolicyCode
    year: int
    amount_fen: int
    source: str
    recorded_by: str
    recorded_at: datetime


class FundPosition(BaseModel):
    """A programme's money for a year: allocated, committed by approved cycles and paid by hand, and what is left
    to approve."""

    programme_code: PolicyCode
    year: int
    allocated_fen: int = Field(description="the year's allocations (资金下达)")
    committed_fen: int = Field(description="totals of the year's cycles approved, paid or closed, plus `by_hand_fen`")
    by_hand_fen: int = Field(
        description="payments of the programme for the year's periods recorded by hand (outside any cycle) and "
        "still paid (not reversed or recovered)"
    )
    available_fen: int = Field(description="allocated - committed: a cycle cannot be approved over it")
