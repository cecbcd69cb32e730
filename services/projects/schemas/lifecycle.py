"""Bodies of a project's life: its transitions and history, construction milestones, acceptance (验收), insurance
and maintenance contracts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from services.projects.rules.inspections import repeated_codes
from services.projects.rules.vocabulary import ContractKind, ProjectStatus
from services.projects.schemas.codes import PROBLEM_CODE
from services.projects.schemas.inspections import ProblemReport
from shared.contracts.audit import Severity
from shared.money import Fen
from shared.personal_data import ScreenedPaymentText, ScreenedText
from shared.schemas import RequestBody

Note = Annotated[ScreenedText, Field(max_length=1000)]


class TransitionCreate(RequestBody):
    """A step of the project's life (ProjectStatus), dated."""

    example: ClassVar[dict[str, Any]] = {
        "to_status": "approved",
        "effective_on": "2020-03-10",
        "note": "区扶贫开发领导小组批复 区扶组发〔2020〕3号",
        "acceptance_due_on": "2020-08-31",
    }

    to_status: ProjectStatus
    effective_on: date = Field(description="not in the future, not before the project's last change")
    note: Note = ""
    acceptance_due_on: date | None = Field(
        default=None, description="on approval only: the day it is to be accepted (验收) by, if not set yet"
    )


class StatusChangeRead(BaseModel):
    id: UUID
    project_id: UUID
    from_status: ProjectStatus
    to_status: ProjectStatus
    effective_on: date
    note: str
    changed_by: str
    changed_at: datetime


class MilestoneCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {"name": "钢架结构完工", "due_on": "2020-05-31"}

    name: Annotated[ScreenedText, Field(min_length=1, max_length=200)]
    due_on: date = Field(description="not before the project started")


class MilestoneUpdate(RequestBody):
    """Progress as it stands (never less than before), or the milestone completed (100 %)."""

    example: ClassVar[dict[str, Any]] = {"progress_pct": 60}

    progress_pct: int | None = Field(default=None, ge=0, le=100, description="never less than before")
    completed_on: date | None = Field(
        default=None, description="the day it was completed: sets the progress to 100; not in the future"
    )

    @model_validator(mode="after")
    def _says_something(self) -> MilestoneUpdate:
        if self.progress_pct is None and self.completed_on is None:
            raise PydanticCustomError("nothing_to_update", "give progress_pct, completed_on or both")
        return self


class MilestoneRead(BaseModel):
    id: UUID
    project_id: UUID
    name: str
    due_on: date
    progress_pct: int
    completed_on: date | None
    updated_by: str
    updated_at: datetime


class FindingReport(ProblemReport):
    """What the acceptance found: a problem published for audit like an inspection's."""

    example: ClassVar[dict[str, Any]] = {
        "code": "fence_missing",
        "description": "大棚四周围栏未建",
        "severity": "general",
    }


MAX_ACCEPTANCE_FINDINGS = 50


class AcceptanceCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {
        "accepted_on": "2020-06-20",
        "officer_name": "区扶贫办 验收组 李强",
        "passed": True,
        "findings": [{"code": "fence_missing", "description": "大棚四周围栏未建", "severity": "general"}],
    }

    accepted_on: date = Field(description="not in the future, not before the project was completed")
    officer_name: Annotated[ScreenedText, Field(min_length=1, max_length=100)]
    passed: bool
    findings: list[FindingReport] = Field(
        default_factory=list,
        max_length=MAX_ACCEPTANCE_FINDINGS,
        description="required when not passed (`findings_required`); each code at most once (`repeated_problem_code`)",
    )

    @model_validator(mode="after")
    def _codes_distinct(self) -> AcceptanceCreate:
        repeated = repeated_codes(f.code for f in self.findings)
        if repeated:
            raise PydanticCustomError(
                "repeated_problem_code",
                "finding codes reported more than once: {codes}",
                {"codes": ", ".join(repeated)},
            )
        return self


class FindingRead(BaseModel):
    problem_id: UUID
    code: str = Field(pattern=PROBLEM_CODE)
    description: str
    severity: Severity | None


class AcceptanceRead(BaseModel):
    id: UUID
    project_id: UUID
    accepted_on: date
    officer_id: str
    officer_name: str
    passed: bool
    findings: list[FindingRead] = Field(max_length=MAX_ACCEPTANCE_FINDINGS)
    recorded_at: datetime


class ContractCreate(RequestBody):
    example: ClassVar[dict[str, Any]] = {
        "kind": "maintenance",
        "provider": "山东绿能光伏运维有限公司",
        "cost_fen": 1_200_000,
        "starts_on": "2020-07-01",
        "expires_on": "2021-06-30",
    }

    kind: ContractKind = Field(description="insurance (项目保险) or maintenance (运维合同)")
    provider: Annotated[ScreenedPaymentText, Field(min_length=1, max_length=200)]
    cost_fen: Annotated[Fen, Field(ge=0)]
    starts_on: date
    expires_on: date = Field(description="after `starts_on` (`expires_before_start`)")


class ContractRead(BaseModel):
    id: UUID
    project_id: UUID
    kind: ContractKind
    provider: str
    cost_fen: int
    starts_on: date
    expires_on: date
    expired: bool = Field(description="expired before the request's day")
    recorded_by: str
    recorded_at: datetime
