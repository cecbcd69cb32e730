"""Bodies of a distribution plan (收益分配方案): preparing it (摸底), its review (审核), approval, rejection and
accounting (报账), and how a plan and its shares read."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from services.projects.rules.distribution import BASIS_POINTS
from services.projects.rules.vocabulary import (
    DistributionBasis,
    HouseholdCategory,
    PlanStatus,
    SetAsidePurpose,
    ShareStatus,
)
from shared.contracts.households import HouseholdStatus
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody

Points = Annotated[int, Field(strict=True, ge=1, le=100)]
Note = Annotated[ScreenedText, Field(max_length=1000)]


class CategoryPoints(RequestBody):
    """Points per household category; a household in several adds them up, one in none counts 1."""

    example: ClassVar[dict[str, Any]] = {"weak_labour": 2, "disabled": 2, "elderly_alone": 3}

    weak_labour: Points
    disabled: Points
    elderly_alone: Points

    def by_category(self) -> dict[HouseholdCategory, int]:
        return {HouseholdCategory(name): points for name, points in self.model_dump().items()}


class SetAside(RequestBody):
    """Part of the income kept back for a purpose before the rest is shared, in basis points (2000 = 20 %)."""

    example: ClassVar[dict[str, Any]] = {"purpose": "public_welfare_jobs", "share_bp": 2000}

    purpose: SetAsidePurpose
    share_bp: Annotated[int, Field(strict=True, ge=1, le=BASIS_POINTS)]


class PlanCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {
        "income_id": "7a1e4b9c-2d3f-4e5a-8b6c-0d1e2f3a4b5c",
        "basis": "categories",
        "category_points": {"weak_labour": 2, "disabled": 2, "elderly_alone": 3},
        "set_asides": [{"purpose": "double_improvement", "share_bp": 2000}],
        "note": "贾寨村 2020 年 6 月大棚收益分配",
    }

    income_id: UUID
    basis: DistributionBasis
    category_points: CategoryPoints | None = Field(
        default=None,
        description="required with the basis `categories` (`category_points_required`), refused with another "
        "(`category_points_unused`)",
    )
    set_asides: list[SetAside] = Field(
        default_factory=list,
        max_length=len(SetAsidePurpose),
        description="each purpose once (`repeated_purpose`), at most 10000 basis points in all (`set_aside_too_large`)",
    )
    note: Note = ""

    @model_validator(mode="after")
    def _rule_is_whole(self) -> PlanCreate:
        # Rules across fields, which JSON Schema cannot state: the document says them, each refusal has its code.
        if self.basis is DistributionBasis.CATEGORIES and self.category_points is None:
            raise PydanticCustomError("category_points_required", "a plan by categories states their points")
        if self.basis is not DistributionBasis.CATEGORIES and self.category_points is not None:
            raise PydanticCustomError("category_points_unused", "category points weigh only a plan by categories")
        if any(n > 1 for n in Counter(s.purpose for s in self.set_asides).values()):
            raise PydanticCustomError("repeated_purpose", "each purpose is set aside once")
        if sum(s.share_bp for s in self.set_asides) > BASIS_POINTS:
            raise PydanticCustomError("set_aside_too_large", "the set-asides take at most the whole income")
        return self


class PlanReview(RequestBody):
    example: ClassVar[dict[str, Any]] = {"approve": True, "note": "镇审核: 名单与户数核对无误"}

    approve: bool = Field(strict=True, description="true: reviewed; false: rejected, with a note")
    note: Note = Field(default="", description="required when rejecting (`note_required`)")

    @model_validator(mode="after")
    def _rejection_says_why(self) -> PlanReview:
        if not self.approve and not self.note:
            raise PydanticCustomError("note_required", "a plan is rejected with a note saying why")
        return self


class PlanRejection(RequestBody):
    example: ClassVar[dict[str, Any]] = {"note": "弱劳力户认定需重新核实"}

    note: Annotated[ScreenedText, Field(min_length=1, max_length=1000)]


class PlanAccounting(RequestBody):
    example: ClassVar[dict[str, Any]] = {"voucher_no": "记-2020-07-015"}

    voucher_no: Annotated[ScreenedText, Field(min_length=1, max_length=100, description="报账凭证号")]


class SetAsideRead(BaseModel):
    purpose: SetAsidePurpose
    share_bp: int
    amount_fen: int


class PlanSummary(BaseModel):
    id: UUID
    income_id: UUID
    project_id: UUID
    asset_id: UUID
    owner_area_code: str
    period: str
    status: PlanStatus
    basis: DistributionBasis
    category_points: dict[HouseholdCategory, int] | None
    judged_on: date = Field(description="the day the households' categories and living members were judged on")
    note: str
    amount_fen: int = Field(description="the income shared")
    set_aside_fen: int
    shared_fen: int = Field(description="the income less the set-asides: the shares add up to it")
    household_count: int = Field(description="households with a share")
    paid_fen: int
    prepared_by: str
    prepared_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None
    approved_by: str | None
    approved_at: datetime | None
    rejected_by: str | None = Field(description="who rejected it, at review or at approval")
    rejected_at: datetime | None
    rejection_note: str | None
    paid_at: datetime | None
    accounted_by: str | None
    accounted_at: datetime | None
    voucher_no: str | None


class PlanRead(PlanSummary):
    set_asides: list[SetAsideRead] = Field(max_length=len(SetAsidePurpose))


class ShareFacts(BaseModel):
    """What a share was decided on, as the roll stood on the plan's day."""

    area_code: str
    status: HouseholdStatus
    living_members: int
    categories: list[HouseholdCategory] = Field(max_length=len(HouseholdCategory))
    weight: int
    judged_on: date


class ShareRead(BaseModel):
    id: UUID
    plan_id: UUID
    household_id: UUID
    area_code: str
    weight: int
    amount_fen: int
    facts: ShareFacts
    explanation: str
    status: ShareStatus
    payment_id: UUID | None
    paid_at: datetime | None


class HouseholdShareRead(BaseModel):
    """A household's share of one plan, with where the plan stands."""

    plan_id: UUID
    project_id: UUID
    income_id: UUID
    period: str
    plan_status: PlanStatus
    amount_fen: int
    explanation: str
    status: ShareStatus
    paid_at: datetime | None
