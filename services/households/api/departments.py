"""Route for department integrations: one bulk endpoint per kind of data, idempotent, with a per-row report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response

from services.households.api.deps import Config
from services.households.domain.departments.apply import RowContext
from services.households.domain.departments.batches import PayloadTooLarge, submit
from services.households.domain.departments.rows import BatchReport, DataKind
from services.households.schemas.departments import BatchSubmission
from shared.api.clock import Today
from shared.auth import Principal, Role, require_roles
from shared.http import Transaction

router = APIRouter(tags=["department data"])
MAX_ROW_BYTES = 2048  # generous for one JSON row; the row limit is the real rule
Department = Annotated[
    Principal,
    Depends(
        require_roles(
            Role.DEPT_CIVIL_AFFAIRS,
            Role.DEPT_HEALTH,
            Role.DEPT_EDUCATION,
            Role.DEPT_DISABILITY,
            Role.DEPT_WATER,
            Role.DEPT_HOUSING,
        )
    ),
]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=100, pattern=r"^[\w.:-]+$")]


def _within_size(request: Request, config: Config) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > config.department_max_rows * MAX_ROW_BYTES:
        raise PayloadTooLarge("The submission is too large; split the data.")


@router.post("/department-data/{kind}", dependencies=[Depends(_within_size)])
async def submit_department_data(
    kind: DataKind,
    body: BatchSubmission,
    idempotency_key: IdempotencyKey,
    session: Transaction,
    actor: Department,
    config: Config,
    today: Today,
    response: Response,
) -> BatchReport:
    """Apply a department's rows of one kind: each valid row atomically, each invalid row reported.

    Rows reference members by `id_number` (matched through the keyed hash) or `member_id`; household-level
    kinds may use `household_code`. Repeating a submission with the same `Idempotency-Key` returns the stored
    report (header `Idempotent-Replayed: true`) and changes nothing.
    """
    ctx = RowContext(actor=actor.subject, config=config, today=today)
    report = await submit(session, kind, idempotency_key, body.rows, actor=actor, ctx=ctx)
    if report.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return report
