"""Responsible people (责任人): the areas' officers, a finding handed to another person, statistics by person and
by unit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from services.audit.schemas.common import Output, Prose
from shared.auth import MAX_SUBJECT_LENGTH
from shared.contracts.accountability import ResponsiblePerson, ResponsibleRole
from shared.schemas import RequestBody

# Published in events (a finding's `responsible`): screened like free text, so no ID number rides along as a login.
Login = Annotated[Prose, Field(max_length=MAX_SUBJECT_LENGTH, description="the person's login (a token's subject)")]
PersonName = Annotated[Prose, Field(max_length=50, description="an official's name: an official role")]
UnitText = Annotated[Prose, Field(max_length=100, description="where they work: a unit's name")]


class AreaOfficerSet(RequestBody):
    """The officer (乡镇扶贫干部) who answers for an area's problems when no one nearer is known."""

    example: ClassVar[dict[str, Any]] = {"person_id": "jiazhai-zhang", "name": "张卫东", "unit": "贾寨镇扶贫办"}

    person_id: Login
    name: PersonName
    unit: UnitText

    def person(self) -> ResponsiblePerson:
        return ResponsiblePerson(
            person_id=self.person_id, name=self.name, unit=self.unit, role=ResponsibleRole.TOWNSHIP_OFFICER
        )


class AreaOfficerRead(Output):
    area_code: str
    person_id: str
    name: str
    unit: str
    set_by: str
    set_at: datetime


class ResponsibleChangeCreate(RequestBody):
    """The person a finding is handed to (责任人变更), and why."""

    example: ClassVar[dict[str, Any]] = {
        "person_id": "wangzhuang-li",
        "name": "李明",
        "unit": "贾寨镇王庄村",
        "role": "helper_cadre",
        "reason": "帮扶责任人调整: 原责任人已调离",
    }

    person_id: Login
    name: PersonName
    unit: UnitText
    role: ResponsibleRole
    reason: Annotated[Prose, Field(max_length=500)]

    def person(self) -> ResponsiblePerson:
        return ResponsiblePerson(person_id=self.person_id, name=self.name, unit=self.unit, role=self.role)


class ResponsibilityChangeRead(Output):
    id: UUID
    finding_id: UUID
    from_person_id: str | None = Field(description="none when no one was named before")
    from_person: str | None
    to_person_id: str
    to_person: str
    to_unit: str
    to_role: ResponsibleRole
    reason: str
    changed_by: str
    changed_at: datetime


class _Tally(BaseModel):
    """Findings opened in the period: how many, still open, open past their deadline (overdue), and closed by
    their deadline or after it."""

    opened: int
    open: int
    overdue: int
    closed_on_time: int
    closed_late: int


class PersonTallyRead(_Tally):
    person_id: str
    name: str | None = Field(description="as their findings give it (the greatest, should two differ)")
    unit: str | None = Field(description="as their findings give it (the greatest, should two differ)")


class UnitTallyRead(_Tally):
    unit: str = Field(description="the responsible unit, or `township_office:<township>` when no one is named")
