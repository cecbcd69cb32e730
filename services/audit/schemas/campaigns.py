"""Inspection campaigns (检查): what the district office sets up, and a campaign as read."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import Field, model_validator

from services.audit.schemas.common import DependentFields, Output, Prose, Text, when
from shared.contracts.audit import CampaignKind, ScopeLevel

TEAMS = 50  # named teams of one campaign
# The scope code each level takes: an area code of its length, or the project's id (a UUID, in any spelling).
_SCOPE_CODES: dict[ScopeLevel, dict[str, str]] = {
    ScopeLevel.DISTRICT: {"pattern": "^[0-9]{6}$"},
    ScopeLevel.TOWNSHIP: {"pattern": "^[0-9]{9}$"},
    ScopeLevel.VILLAGE: {"pattern": "^[0-9]{12}$"},
    ScopeLevel.PROJECT: {"format": "uuid"},
}


class CampaignCreate(DependentFields):
    """An inspection campaign: what kind, over which scope, which round, when, by which teams. Targeted supervision
    (挂牌督战) is of one township; `ends_on` is not before `starts_on`."""

    example: ClassVar[dict[str, Any]] = {
        "name": "2020年第二轮挂牌督战 贾寨镇",
        "kind": "targeted_supervision",
        "scope_level": "township",
        "scope_code": "371523101",
        "round": 2,
        "starts_on": "2020-05-01",
        "ends_on": "2020-05-31",
        "teams": ["区督战第一组"],
    }
    rules: ClassVar[list[dict[str, Any]]] = [
        when("kind", [CampaignKind.TARGETED_SUPERVISION], {"scope_level": {"const": ScopeLevel.TOWNSHIP}}),
        *(when("scope_level", [level], {"scope_code": code}) for level, code in _SCOPE_CODES.items()),
    ]

    name: Annotated[Prose, Field(max_length=200)]
    kind: CampaignKind
    scope_level: ScopeLevel
    scope_code: Annotated[Text, Field(max_length=64)]
    round: int = Field(ge=1, le=50)
    starts_on: date
    ends_on: date
    teams: list[Annotated[Prose, Field(max_length=100)]] = Field(default_factory=list, max_length=TEAMS)

    @model_validator(mode="after")
    def _one_spelling_of_a_project(self) -> CampaignCreate:
        if self.scope_level is ScopeLevel.PROJECT:
            with suppress(ValueError):  # not a UUID: the domain's scope rule says so
                self.scope_code = str(UUID(self.scope_code))
        return self


class CampaignRead(Output):
    id: UUID
    name: str
    kind: CampaignKind
    scope_level: ScopeLevel
    scope_code: str
    round: int
    starts_on: date
    ends_on: date
    teams: list[str] = Field(max_length=TEAMS)
    created_by: str
    created_at: datetime
    # A default: a create's answer kept for a retry (`Idempotency-Key`) before this field existed still reads.
    coverage_checked_at: datetime | None = Field(
        default=None, description="when its coverage was judged, once, after it ended (全覆盖); null until then"
    )


class TownshipCoverageRead(Output):
    """Of a township's households the campaign had to reach (those audit knows in its scope, registered before it
    ended), how many a visit of its round reached in its dates; `rate_bp` is reached/households in basis points,
    rounded down (10000 is full coverage, and only full coverage)."""

    township: str
    households: int
    reached: int
    not_reached: int
    rate_bp: int = Field(ge=0, le=10_000)
    complete: bool


class UnreachedHouseholdRead(Output):
    """A household the campaign had to reach and did not (audit knows its id and area; households its record)."""

    household_id: UUID
    area_code: str
    registered_at: datetime


class CoverageCheckRead(Output):
    """What a run of the end-of-campaign coverage check did."""

    checked_at: datetime
    campaigns: int = Field(description="campaigns judged (each once, after it ended)")
    findings: int = Field(description="townships below full coverage, each a `coverage_incomplete` finding")
