"""Bodies of a department's bulk submissions (行业部门数据): one row model per kind of data, the submission of each
kind typed by its row model, and the report a submission answers with.

Each row is validated on its own by the route, as the use case applies it (a bad row is reported, the others
applied); the OpenAPI document shows every kind's row model, so that a row valid by it is one the use case accepts.
The document shows each kind's rows as its row model, but the body takes the rows as they come (`SkipValidation`).
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, create_model

from services.households.rules.limits import DEPARTMENT_MAX_ROWS_CEILING, MAX_BATCH_ERRORS, MAX_ERRORS_PER_ROW
from services.households.rules.vocabulary import (
    DataKind,
    DisabilityType,
    Enrolment,
    SchoolStage,
    WaterProblem,
    WaterSource,
)
from services.households.schemas.common import PastDate
from services.households.schemas.comparisons import CompanyRow, PublicPayrollRow, VehicleRow
from services.households.schemas.department_refs import (
    BY_ID_NUMBER,
    HOUSEHOLD_REFERENCES,
    MEMBER_REFERENCES,
    HouseholdRef,
    MemberRef,
    referenced_by,
)
from services.households.schemas.guarantees import SAFE_HOUSE_HAS_NO_DEADLINE
from services.households.schemas.households import PREMIUM_NEEDS_COVER, SON
from shared.contracts.households import HousingGrade, MinimumAllowance
from shared.money import Fen
from shared.personal_data import ScreenedText


class MinimumAllowanceRow(HouseholdRef):
    """民政: the household's 低保 / 特困供养 status from a date."""

    example: ClassVar[dict[str, Any]] = {
        "household_code": "3715231012010001",
        "status": "dibao",
        "effective_on": "2020-03-01",
    }
    happened = ("effective_on",)

    status: MinimumAllowance
    effective_on: PastDate


class ChronicDiseaseRow(MemberRef):
    """卫健: a chronic disease approved for special treatment (慢性病审批)."""

    example: ClassVar[dict[str, Any]] = {**BY_ID_NUMBER, "disease": "高血压", "approved_on": "2020-04-01"}
    happened = ("approved_on",)

    disease: ScreenedText = Field(min_length=1, max_length=100)
    approved_on: PastDate


class HospitalCostRow(MemberRef):
    """卫健/医保: a member's out-of-pocket hospital cost (住院个人自付)."""

    example: ClassVar[dict[str, Any]] = {**BY_ID_NUMBER, "amount_fen": 680000, "occurred_on": "2020-05-18"}
    happened = ("occurred_on",)

    amount_fen: Fen = Field(gt=0, description="out-of-pocket cost, integer fen")
    occurred_on: PastDate


class MedicalInsuranceRow(MemberRef):
    """医保: insurance as the health department knows it; a fact left out (None) leaves the member's record alone."""

    model_config = referenced_by(MEMBER_REFERENCES, **PREMIUM_NEEDS_COVER)
    example: ClassVar[dict[str, Any]] = {**BY_ID_NUMBER, "medical_insured": True, "premium_subsidised": True}

    medical_insured: bool
    premium_subsidised: bool | None = None
    family_doctor_contract: bool | None = None


class EnrolmentRow(MemberRef):
    """教育: a member's enrolment (控辍保学), with the stage and the school when known."""

    example: ClassVar[dict[str, Any]] = {
        "id_number": SON["id_number"],
        "enrolment": "enrolled",
        "school_stage": "primary",
        "school_name": "城关镇中心小学",
    }

    enrolment: Enrolment
    school_stage: SchoolStage | None = None
    school_name: ScreenedText | None = Field(default=None, min_length=1, max_length=100)


class DisabilityRow(MemberRef):
    """残联: a disability certificate (残疾证)."""

    example: ClassVar[dict[str, Any]] = {
        **BY_ID_NUMBER,
        "disability_type": "physical",
        "grade": 2,
        "certified_on": "2020-04-01",
    }
    happened = ("certified_on",)

    disability_type: DisabilityType
    grade: int = Field(ge=1, le=4)
    certified_on: PastDate


class WaterRow(HouseholdRef):
    """水利: a drinking-water check of the household's source (饮水检测); no problems means safe."""

    example: ClassVar[dict[str, Any]] = {
        "household_code": "3715231012010001",
        "checked_on": "2020-04-08",
        "source": "well",
        "problems": ["excess_fluoride"],
    }
    happened = ("checked_on",)

    checked_on: PastDate
    source: WaterSource
    problems: list[WaterProblem] = Field(default_factory=list, max_length=10)


class HousingRow(HouseholdRef):
    """住建: a housing-safety appraisal (住房安全鉴定); a C/D house's deadline is not before the appraisal."""

    model_config = referenced_by(HOUSEHOLD_REFERENCES, **SAFE_HOUSE_HAS_NO_DEADLINE)
    example: ClassVar[dict[str, Any]] = {
        "household_code": "3715231012010001",
        "grade": "D",
        "appraised_on": "2020-04-20",
        "appraiser": "区住建局",
        "renovation_due": "2020-08-31",
    }
    happened = ("appraised_on",)

    grade: HousingGrade
    appraised_on: PastDate
    appraiser: ScreenedText = Field(min_length=1, max_length=100)
    renovation_due: date | None = None


class DeathRow(MemberRef):
    """民政/公安: a member's death (死亡注销); the same death again is already recorded, another date a row error."""

    example: ClassVar[dict[str, Any]] = {**BY_ID_NUMBER, "died_on": "2020-06-03", "source": "民政殡葬"}
    happened = ("died_on",)

    died_on: PastDate
    source: ScreenedText = Field(min_length=1, max_length=100, description="who reported it, e.g. 民政殡葬")


ROW_MODELS: dict[DataKind, type[MemberRef]] = {
    DataKind.MINIMUM_ALLOWANCE: MinimumAllowanceRow,
    DataKind.CHRONIC_DISEASE: ChronicDiseaseRow,
    DataKind.HOSPITAL_COST: HospitalCostRow,
    DataKind.MEDICAL_INSURANCE: MedicalInsuranceRow,
    DataKind.ENROLMENT: EnrolmentRow,
    DataKind.DISABILITY: DisabilityRow,
    DataKind.WATER: WaterRow,
    DataKind.HOUSING: HousingRow,
    DataKind.DEATH: DeathRow,
    DataKind.MARKET_REGULATION: CompanyRow,
    DataKind.VEHICLE_REGISTRATION: VehicleRow,
    DataKind.PUBLIC_PAYROLL: PublicPayrollRow,
}


class RowError(BaseModel):
    """Why one row was not applied: its index in `rows`, the field, a message and a code (never the value)."""

    row: int
    field: str
    message: str
    code: str


class BatchReport(BaseModel):
    """What a submission did: rows received, applied and refused, and why each refused row was."""

    batch_id: UUID
    kind: DataKind
    row_count: int
    applied_count: int
    error_count: int
    errors: list[RowError] = Field(
        max_length=MAX_BATCH_ERRORS,
        description=f"at most {MAX_ERRORS_PER_ROW} per refused row, of at most {DEPARTMENT_MAX_ROWS_CEILING:,} rows",
    )


def _example(schema: dict[str, Any], model: type[BaseModel]) -> None:
    schema["examples"] = [{"rows": [model.row_model.example]}]  # type: ignore[attr-defined]


class BatchSubmission(BaseModel):
    """Up to the configured number of rows (413 above); each row is validated on its own."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_example)
    row_model: ClassVar[type[MemberRef]]

    rows: list[Any]


def _submission(kind: DataKind, row_model: type[MemberRef]) -> type[BatchSubmission]:
    model = create_model(
        row_model.__name__.removesuffix("Row") + "Submission",
        __base__=BatchSubmission,
        __doc__=f"Rows of `{kind}` data, each a `{row_model.__name__}`; a row that is not is reported, not applied.",
        rows=(list[SkipValidation[row_model]], Field(description="the rows, each validated and applied on its own")),  # type: ignore[valid-type]
    )
    model.row_model = row_model
    return model


SUBMISSIONS: dict[DataKind, type[BatchSubmission]] = {kind: _submission(kind, row) for kind, row in ROW_MODELS.items()}
