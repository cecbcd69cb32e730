"""A department's bulk submission: size limit, idempotency key, per-row savepoints, a stored report.

Which department may send which kind is the route's role check (each kind's operation admits its department).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain.departments.apply import APPLIERS, RowContext
from services.households.domain.departments.rows import ROW_MODELS, BatchReport, DataKind, RowError
from services.households.events import publish
from services.households.models import DepartmentBatch
from services.households.rules import dates
from shared.auth import Principal
from shared.contracts.households import DepartmentDataReceived
from shared.error_documents import field_path
from shared.errors import Conflict, DomainError


class PayloadTooLarge(DomainError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


def validation_errors(index: int, exc: ValidationError) -> list[RowError]:
    """Field, message and code of each error; pydantic's `input` (which may hold an ID number) is dropped, and so
    is an unknown key (which may be one)."""
    return [
        RowError(row=index, field=field_path(e.get("loc", ())), message=e["msg"], code=e["type"]) for e in exc.errors()
    ]


async def apply_row(session: AsyncSession, kind: DataKind, index: int, raw: Any, ctx: RowContext) -> list[RowError]:
    """Validate and apply one row inside a savepoint; its errors, or [] when it was applied."""
    try:
        row = ROW_MODELS[kind].model_validate(raw)
    except ValidationError as exc:
        return validation_errors(index, exc)
    if late := dates.late(ctx.today, row.dates()):
        return [RowError(row=index, field=name, message=dates.MESSAGE, code=dates.CODE) for name in late]
    try:
        async with session.begin_nested():
            await APPLIERS[kind](session, row, ctx)
            await session.flush()
    except DomainError as exc:
        return [RowError(row=index, field="", message=exc.detail, code=exc.slug)]
    except IntegrityError:
        return [RowError(row=index, field="", message="The row conflicts with registered data.", code="conflict")]
    return []


def _digest(kind: DataKind, rows: Sequence[Any], ctx: RowContext) -> str:
    # Keyed, because the rows hold ID-card numbers and a plain hash of a small body could be brute-forced.
    canonical = json.dumps({"kind": kind.value, "rows": list(rows)}, sort_keys=True, separators=(",", ":"), default=str)
    return ctx.config.vault.keyed_digest(canonical.encode())


async def _batch(session: AsyncSession, kind: DataKind, key: str) -> DepartmentBatch | None:
    stmt = select(DepartmentBatch).where(col(DepartmentBatch.kind) == kind, col(DepartmentBatch.idempotency_key) == key)
    return (await session.scalars(stmt)).first()


def _stored(batch: DepartmentBatch, digest: str) -> BatchReport:
    """The report of an earlier submission under the same key, if it was this submission."""
    if batch.request_digest != digest:
        raise Conflict("This Idempotency-Key was already used for a different submission.")
    return BatchReport.model_validate_json(batch.report)


async def _claim(
    session: AsyncSession, kind: DataKind, key: str, digest: str, rows: int, actor: Principal
) -> DepartmentBatch | BatchReport:
    """The new batch for this key, or the stored report when the key was already used for this submission.

    On PostgreSQL a concurrent submission with the same key waits on the unique key until the first commits, then
    answers with its report (a savepoint keeps the transaction usable after the failed insert)."""
    if (existing := await _batch(session, kind, key)) is not None:
        return _stored(existing, digest)
    batch = DepartmentBatch(
        kind=kind,
        idempotency_key=key,
        request_digest=digest,
        submitted_by=actor.subject,
        row_count=rows,
        applied_count=0,
        error_count=0,
        report="{}",
    )
    try:
        async with session.begin_nested():
            session.add(batch)
    except IntegrityError:
        committed = await _batch(session, kind, key)
        if committed is None:  # the other submission rolled back: it holds nothing to answer with
            raise Conflict("A submission with this Idempotency-Key failed meanwhile; send it again.") from None
        return _stored(committed, digest)
    return batch


async def submit(
    session: AsyncSession, kind: DataKind, key: str, rows: Sequence[Any], *, actor: Principal, ctx: RowContext
) -> tuple[BatchReport, bool]:
    """Apply a submission once per idempotency key: its report, and whether it is the stored report of an earlier
    submission of the same rows under the key (which changes nothing)."""
    if len(rows) > ctx.config.department_max_rows:
        raise PayloadTooLarge(f"At most {ctx.config.department_max_rows} rows per submission; split the data.")
    claimed = await _claim(session, kind, key, _digest(kind, rows, ctx), len(rows), actor)
    if isinstance(claimed, BatchReport):
        return claimed, True
    errors: list[RowError] = []
    for index, raw in enumerate(rows):
        errors.extend(await apply_row(session, kind, index, raw, ctx))
    failed = len({e.row for e in errors})
    report = BatchReport(
        batch_id=claimed.id,
        kind=kind,
        row_count=len(rows),
        applied_count=len(rows) - failed,
        error_count=failed,
        errors=errors,
    )
    claimed.applied_count, claimed.error_count, claimed.report = report.applied_count, failed, report.model_dump_json()
    session.add(claimed)
    received = DepartmentDataReceived(
        batch_id=claimed.id, kind=kind, row_count=len(rows), applied_count=report.applied_count, error_count=failed
    )
    publish(session, received)
    return report, False
