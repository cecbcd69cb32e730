"""Routes for department integrations (行业部门数据比对): one bulk operation per kind of data, each with its own
row schema and its own department, idempotent, with a per-row report."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response, status
from pydantic import ValidationError

from services.households.api.deps import (
    CivilAffairs,
    Config,
    DisabilityFederation,
    EducationDepartment,
    HealthDepartment,
    HousingDepartment,
    MarketRegulation,
    PublicPayroll,
    TrafficPolice,
    WaterDepartment,
)
from services.households.domain.departments.apply import RowContext
from services.households.domain.departments.batches import PayloadTooLarge, ReadRow, RowRefusal, submit
from services.households.rules.comparisons import COMPARED
from services.households.rules.vocabulary import DataKind
from services.households.schemas.departments import ROW_MODELS, SUBMISSIONS, BatchReport, BatchSubmission
from shared.api.clock import Now, Today
from shared.api.idempotency import KEY_PATTERN, REPLAY_RESPONSE, REPLAYED_HEADER
from shared.auth import CurrentPrincipal, Principal
from shared.error_documents import field_path
from shared.errors import InvalidInput
from shared.http import Transaction

router = APIRouter(tags=["department data"])
MAX_ROW_BYTES = 2048  # generous for one JSON row; the row limit is the real rule
# Required here, unlike other creates' optional key: the batch and its stored report are recorded under it.
DepartmentKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        pattern=KEY_PATTERN,
        description="Required: one key per submission (e.g. the department's batch number). The same rows again "
        "under it return the stored report; other rows under it are a 409.",
        examples=["health-2020-05-batch-17"],
    ),
]
SUBMITTERS: dict[DataKind, Any] = {
    DataKind.MINIMUM_ALLOWANCE: CivilAffairs,
    DataKind.CHRONIC_DISEASE: HealthDepartment,
    DataKind.HOSPITAL_COST: HealthDepartment,
    DataKind.MEDICAL_INSURANCE: HealthDepartment,
    DataKind.ENROLMENT: EducationDepartment,
    DataKind.DISABILITY: DisabilityFederation,
    DataKind.WATER: WaterDepartment,
    DataKind.HOUSING: HousingDepartment,
    DataKind.DEATH: CivilAffairs,
    DataKind.MARKET_REGULATION: MarketRegulation,
    DataKind.VEHICLE_REGISTRATION: TrafficPolice,
    DataKind.PUBLIC_PAYROLL: PublicPayroll,
}
COMPARED_ROWS = """Rows name a person by `id_number` only, and are compared with the register, not stored: each
row is validated on its own, and the valid ones are matched to members by the keyed hash of their numbers, in bulk;
a row that is invalid or names nobody registered is reported by index, field and code (never its values). A living
member of a household on 低保 or 特困供养 with {what} is a hit (`{hit}`, once per member and batch), published as a
`HouseholdProblemFound` for audit (policy delivery, serious, naming the household's helper cadre; evidence the batch
and rows, never a number or a name)."""
# Each kind's summary, and what its applied rows cause beyond the facts they record.
WHAT: dict[DataKind, tuple[str, str]] = {
    DataKind.MINIMUM_ALLOWANCE: (
        "Submit civil affairs' minimum-allowance statuses (低保 / 特困供养)",
        "Each row sets a household's status from a date (`MinimumAllowanceChanged`).",
    ),
    DataKind.CHRONIC_DISEASE: (
        "Submit health's chronic-disease approvals (慢性病审批)",
        "Each row records a member's approved disease (`MemberChronicDiseaseApproved`).",
    ),
    DataKind.HOSPITAL_COST: (
        "Submit health's out-of-pocket hospital costs (住院个人自付)",
        "Each row records a cost (`HospitalCostRecorded`; the same cost again is not counted twice); a household's "
        "costs for a year crossing the large-medical-expense threshold flag relapse risk.",
    ),
    DataKind.MEDICAL_INSURANCE: (
        "Submit medical insurance, premium subsidies and family-doctor contracts (参保, 代缴, 家庭医生签约)",
        "A fact left out leaves the member's record alone; losing cover ends the premium subsidy and is a "
        "`no_medical_insurance` problem for audit.",
    ),
    DataKind.ENROLMENT: (
        "Submit education's school enrolments (控辍保学)",
        "Each row records a member's enrolment (`MemberSchoolingChanged`); a dropout of compulsory-school age is a "
        "`school_dropout` problem for audit.",
    ),
    DataKind.DISABILITY: (
        "Submit disability certificates (残疾证)",
        "Each row records a member's certified disability (`MemberDisabilityRecorded`); a newly certified "
        "disability flags relapse risk.",
    ),
    DataKind.WATER: (
        "Submit drinking-water checks (饮水检测)",
        "Each row records a check of the household's water (`WaterChecked`); unsafe water is an `unsafe_water` "
        "problem for audit.",
    ),
    DataKind.HOUSING: (
        "Submit housing-safety appraisals (住房安全鉴定)",
        "Each row records an appraisal (`HousingAppraised`); a C/D house is a `housing_unsafe` problem for audit "
        "with its renovation deadline.",
    ),
    DataKind.DEATH: (
        "Submit deaths (死亡注销) from civil affairs' funeral records or the police register",
        "Each row records a member's death (`MemberDied`): the member is kept and no longer counted in the "
        "household's per-capita income, exit assessment and gaps. The same death reported again is already "
        "recorded; another date for a recorded death is a row error.",
    ),
    DataKind.MARKET_REGULATION: (
        "Submit market regulation's company registrations (企业法定代表人, 股东) for comparison (数据比对)",
        COMPARED_ROWS.format(what="a company (as legal representative or shareholder)", hit="dibao_with_company"),
    ),
    DataKind.VEHICLE_REGISTRATION: (
        "Submit the traffic police's vehicle registrations (机动车登记) for comparison (数据比对)",
        COMPARED_ROWS.format(what="a car or truck (`other` vehicles are not compared)", hit="dibao_with_vehicle"),
    ),
    DataKind.PUBLIC_PAYROLL: (
        "Submit the public payroll (财政供养人员) for comparison (数据比对)",
        COMPARED_ROWS.format(what="a public salary", hit="dibao_with_public_salary"),
    ),
}
APPLIED = """Rows name a member by `id_number` (matched through the keyed hash) or `member_id`; household kinds may
use `household_code` instead. Each row is validated and applied on its own, in its own savepoint, through the same
use cases as an officer's change (the same events, problems, flags and history): a row that is invalid or names
nobody registered is reported by index, field and code (never its values), and the others apply."""
BEHAVIOUR = """At most the configured number of rows (`HOUSEHOLDS_DEPARTMENT_MAX_ROWS`, 5,000) per call: 413 above. A
kind no department submits is a 422 (`unknown_kind`, field `path.kind`).

The first submission under an `Idempotency-Key` answers 201 with its report and publishes `DepartmentDataReceived`
(counts only). The same rows again under the key answer 200 with the stored report and `Idempotency-Replayed:
true`, changing nothing (a concurrent one waits for the first); other rows under the key are a 409."""


async def _within_size(request: Request, config: Config) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > config.department_max_rows * MAX_ROW_BYTES:
        raise PayloadTooLarge("The submission is too large; split the data.")


def _row_reader(kind: DataKind) -> Callable[[int, Any], ReadRow | list[RowRefusal]]:
    """Reads a row of `kind` by its row model: its plain values, or the field, message and code of each error
    (pydantic's `input`, which may hold an ID number, is dropped, and so is an unknown key, which may be one)."""
    model = ROW_MODELS[kind]

    def read(index: int, raw: Any) -> ReadRow | list[RowRefusal]:
        try:
            row = model.model_validate(raw)
        except ValidationError as exc:
            errors = exc.errors()
            return [RowRefusal(index, field_path(e.get("loc", ())), e["msg"], e["type"]) for e in errors]
        return ReadRow(values=row.plain(), happened=row.dates())

    return read


def _submission_route(kind: DataKind) -> Callable[..., Awaitable[BatchReport]]:
    read = _row_reader(kind)

    async def submit_rows(
        body: BatchSubmission,
        idempotency_key: DepartmentKey,
        session: Transaction,
        actor: Principal,
        config: Config,
        now: Now,
        today: Today,
        response: Response,
    ) -> BatchReport:
        ctx = RowContext(actor=actor.subject, config=config, now=now, today=today)
        outcome, replayed = await submit(session, kind, idempotency_key, body.rows, parse=read, actor=actor, ctx=ctx)
        if replayed:
            response.status_code = status.HTTP_200_OK
            response.headers[REPLAYED_HEADER] = "true"
        return BatchReport.model_validate(asdict(outcome))

    # FastAPI reads the body's model and the role check from the annotations: each kind's own.
    submit_rows.__annotations__ |= {"body": SUBMISSIONS[kind], "actor": SUBMITTERS[kind]}
    summary, effects = WHAT[kind]
    rows = "" if kind in COMPARED else f"\n\n{APPLIED}"
    submit_rows.__doc__ = f"{summary}\n\n{effects}{rows}\n\n{BEHAVIOUR}"
    return submit_rows


for _kind in DataKind:
    router.add_api_route(
        f"/department-data/{_kind}",
        _submission_route(_kind),
        methods=["POST"],
        name=f"submit_{_kind}",
        status_code=status.HTTP_201_CREATED,
        responses=REPLAY_RESPONSE,
        dependencies=[Depends(_within_size)],
    )


@router.post("/department-data/{kind}", include_in_schema=False)
async def refuse_unknown_kind(kind: str, actor: CurrentPrincipal) -> None:
    """Refuse data of a kind no department submits

    Reached only by a kind without its own operation above (the document lists those): 422 `unknown_kind` naming
    `path.kind` and the kinds there are, for any authenticated caller; nothing is read or stored."""
    raise InvalidInput(
        f"No department submits data of this kind; the kinds are: {', '.join(DataKind)}.",
        errors=[{"field": "path.kind", "message": "not a kind of department data", "code": "unknown_kind"}],
    )
