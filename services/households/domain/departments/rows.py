"""The rows each department sends, and which department owns which kind of data."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from services.households.rules.idcard import birth_date_of
from services.households.rules.vocabulary import DisabilityType, Enrolment, SchoolStage, WaterProblem, WaterSource
from services.households.schemas.common import IdCardNumber, PastDate
from shared.auth import Role
from shared.contracts.households import MinimumAllowance
from shared.money import Fen
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody


class DataKind(StrEnum):
    MINIMUM_ALLOWANCE = "minimum_allowance"  # 民政: 低保 / 特困供养
    CHRONIC_DISEASE = "chronic_disease"  # 卫健: 慢性病审批
    HOSPITAL_COST = "hospital_cost"  # 卫健/医保: 住院个人自付
    MEDICAL_INSURANCE = "medical_insurance"  # 医保: 参保, 代缴, 家庭医生签约
    ENROLMENT = "enrolment"  # 教育: 在校 / 辍学
    DISABILITY = "disability"  # 残联: 残疾证
    WATER = "water"  # 水利: 饮水检测
    HOUSING = "housing"  # 住建: 住房安全鉴定


OWNER: dict[DataKind, Role] = {
    DataKind.MINIMUM_ALLOWANCE: Role.DEPT_CIVIL_AFFAIRS,
    DataKind.CHRONIC_DISEASE: Role.DEPT_HEALTH,
    DataKind.HOSPITAL_COST: Role.DEPT_HEALTH,
    DataKind.MEDICAL_INSURANCE: Role.DEPT_HEALTH,
    DataKind.ENROLMENT: Role.DEPT_EDUCATION,
    DataKind.DISABILITY: Role.DEPT_DISABILITY,
    DataKind.WATER: Role.DEPT_WATER,
    DataKind.HOUSING: Role.DEPT_HOUSING,
}


class MemberRef(RequestBody):
    """A member, by ID-card number (matched through the keyed hash) or by member id: exactly one."""

    # The row's dates of what has happened: not after the day the row is applied (checked then, see `batches`).
    happened: ClassVar[tuple[str, ...]] = ()

    id_number: IdCardNumber | None = None
    member_id: UUID | None = None

    def dates(self) -> dict[str, date | None]:
        """The row's dates of what has happened, by field; an ID-card number's is the birth date it carries."""
        dated: dict[str, Any] = {name: getattr(self, name) for name in self.happened}
        if self.id_number is not None:
            dated["id_number"] = birth_date_of(self.id_number.get_secret_value())
        return dated

    @model_validator(mode="after")
    def _one_reference(self) -> MemberRef:
        if sum(v is not None for v in self._references()) != 1:
            raise ValueError("give exactly one of " + ", ".join(self._reference_names()))
        return self

    def _references(self) -> list[object]:
        return [self.id_number, self.member_id]

    def _reference_names(self) -> list[str]:
        return ["id_number", "member_id"]


class HouseholdRef(MemberRef):
    """A household, by household code or through any member of it."""

    household_code: str | None = Field(default=None, min_length=1, max_length=32)

    def _references(self) -> list[object]:
        return [*super()._references(), self.household_code]

    def _reference_names(self) -> list[str]:
        return [*super()._reference_names(), "household_code"]


class MinimumAllowanceRow(HouseholdRef):
    happened = ("effective_on",)

    status: MinimumAllowance
    effective_on: PastDate


class ChronicDiseaseRow(MemberRef):
    happened = ("approved_on",)

    disease: ScreenedText = Field(min_length=1, max_length=100)
    approved_on: PastDate


class HospitalCostRow(MemberRef):
    happened = ("occurred_on",)

    amount_fen: Fen = Field(gt=0, description="out-of-pocket cost, integer fen")
    occurred_on: PastDate


class MedicalInsuranceRow(MemberRef):
    """Insurance as the health department knows it; a fact left out (None) leaves the member's record alone."""

    medical_insured: bool
    premium_subsidised: bool | None = None
    family_doctor_contract: bool | None = None


class EnrolmentRow(MemberRef):
    enrolment: Enrolment
    school_stage: SchoolStage | None = None
    school_name: ScreenedText | None = Field(default=None, min_length=1, max_length=100)


class DisabilityRow(MemberRef):
    happened = ("certified_on",)

    disability_type: DisabilityType
    grade: int = Field(ge=1, le=4)
    certified_on: PastDate


class WaterRow(HouseholdRef):
    happened = ("checked_on",)

    checked_on: PastDate
    source: WaterSource
    problems: list[WaterProblem] = Field(default_factory=list, max_length=10)


class HousingRow(HouseholdRef):
    happened = ("appraised_on",)

    grade: str = Field(pattern="^[ABCD]$")
    appraised_on: PastDate
    appraiser: ScreenedText = Field(min_length=1, max_length=100)
    renovation_due: date | None = None


ROW_MODELS: dict[DataKind, type[MemberRef]] = {
    DataKind.MINIMUM_ALLOWANCE: MinimumAllowanceRow,
    DataKind.CHRONIC_DISEASE: ChronicDiseaseRow,
    DataKind.HOSPITAL_COST: HospitalCostRow,
    DataKind.MEDICAL_INSURANCE: MedicalInsuranceRow,
    DataKind.ENROLMENT: EnrolmentRow,
    DataKind.DISABILITY: DisabilityRow,
    DataKind.WATER: WaterRow,
    DataKind.HOUSING: HousingRow,
}


class RowError(BaseModel):
    """Why one row was not applied: its index in `rows`, the field, a message and a code (never the value)."""

    row: int
    field: str
    message: str
    code: str


class BatchReport(BaseModel):
    batch_id: UUID
    kind: DataKind
    row_count: int
    applied_count: int
    error_count: int
    errors: list[RowError]
    replayed: bool = False
