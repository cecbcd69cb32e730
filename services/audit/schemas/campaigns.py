"""Inspection campaigns (检查): what the district office sets up, and a campaign as read."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field, model_validator

from services.audit.schemas.common import Output, Prose, Text
from shared.contracts.audit import CampaignKind, ScopeLevel
from shared.schemas import RequestBody


class CampaignCreate(RequestBody):
    name: Annotated[Prose, Field(max_length=200)]
    kind: CampaignKind
    scope_level: ScopeLevel
    scope_code: Annotated[Text, Field(max_length=64)]
    round: int = Field(ge=1, le=50)
    starts_on: date
    ends_on: date
    teams: list[Annotated[Prose, Field(max_length=100)]] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _one_spelling_of_a_project(self) -> CampaignCreate:
        if self.scope_level is ScopeLevel.PROJECT:
            with suppress(ValueError):  # not a UUID: the domain's scope rule says so
                self.scope_code = str(UUID(self.scope_code))
        return self


class CampaignRead(Output):
    id: UUID
    name: str
    kind: str
    scope_level: str
    scope_code: str
    round: int
    starts_on: date
    ends_on: date
    teams: list[str]
    created_by: str
    created_at: datetime
