"""Rows of the departments' data compared with the register (数据比对): market regulation's companies, the traffic
police's vehicles, the public payroll. Each names a person by ID-card number only (a department knows no member
ids); a row is compared with the member holding the number and never stored."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from services.households.rules.comparisons import CompanyRole, EmployerKind, VehicleKind
from services.households.schemas.common import IdCardNumber, PastDate, stating
from services.households.schemas.department_refs import BY_ID_NUMBER, MemberRef
from shared.personal_data import ScreenedText


class ComparedRow(MemberRef):
    """A person in a department's register, by ID-card number (matched through the keyed hash)."""

    model_config = stating()
    references = ("id_number",)

    id_number: IdCardNumber
    member_id: SkipJsonSchema[None] = None


class CompanyRow(ComparedRow):
    """市场监管: a person registered with a company (企业登记) as its legal representative or a shareholder."""

    example: ClassVar[dict[str, Any]] = {
        **BY_ID_NUMBER,
        "company_name": "冠县某某农业科技有限公司",
        "role": "legal_representative",
        "registered_on": "2019-04-10",
    }
    happened = ("registered_on",)

    company_name: ScreenedText = Field(min_length=1, max_length=200)
    role: CompanyRole
    registered_on: PastDate


class VehicleRow(ComparedRow):
    """公安交管: a vehicle registered to a person (机动车登记); never the plate."""

    example: ClassVar[dict[str, Any]] = {**BY_ID_NUMBER, "vehicle_kind": "car", "registered_on": "2020-01-15"}
    happened = ("registered_on",)

    vehicle_kind: VehicleKind
    registered_on: PastDate


class PublicPayrollRow(ComparedRow):
    """财政/人社: a person paid a public salary (财政供养人员) since a date."""

    example: ClassVar[dict[str, Any]] = {**BY_ID_NUMBER, "employer_kind": "public_institution", "since": "2018-09-01"}
    happened = ("since",)

    employer_kind: EmployerKind
    since: PastDate
