"""What every problem event may say about accountability: how severe it is, and who answers for it (责任人).

Kept apart from the services' contracts so that each of them can name them without depending on another's.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.schemas import refuse_control_characters


class Severity(StrEnum):
    GENERAL = "general"
    SERIOUS = "serious"
    SEVERE = "severe"


class ResponsibleRole(StrEnum):
    """The role a responsible person answers in."""

    HELPER_CADRE = "helper_cadre"  # 帮扶责任人: the household's helper
    VILLAGE_CADRE = "village_cadre"  # 村干部
    TOWNSHIP_OFFICER = "township_officer"  # 乡镇扶贫干部: the area's officer when no one nearer is known
    PROJECT_MANAGER = "project_manager"  # 项目负责人
    PAYMENT_PREPARER = "payment_preparer"  # who prepared the list or recorded the payment
    PAYMENT_APPROVER = "payment_approver"  # who approved it
    POWER_HOLDER = "power_holder"  # a person with power over benefits whose relative benefits (优亲厚友)


class ResponsiblePerson(BaseModel):
    """Who answers for a problem (责任人). A cadre's name and post are an official role, not personal data, so events
    carry them; `person_id` is the person's login (a token's subject): notifications reach them by it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person_id: str = Field(min_length=1, max_length=100, description="the person's login (a token's subject)")
    name: str = Field(min_length=1, max_length=50)
    unit: str = Field(min_length=1, max_length=100, description="where they work: a unit's name or an area code")
    role: ResponsibleRole

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return refuse_control_characters(value)
