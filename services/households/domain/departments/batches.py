"""A department's bulk submission: size limit, idempotency key, per-row savepoints, a stored report.

Which department may send which kind is the route's role check (each kind's operation admits its department), and
reading a row is its row model's (the route's `parse`): the use case takes each row's plain values, or why the row
could not be read, and reports by row index, field and code (never a value).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import comparisons
from services.households.domain.departments.apply import APPLIERS, NOBODY, RowContext
from services.households.events import publish
from services.households.models import DepartmentBatch
from services.households.rules import dates
from services.households.rules.comparisons import COMPARED
from services.households.rules.limits import MAX_ERRORS_PER_ROW
from services.households.rules.vocabulary import DataKind
from shared.auth import Principal
from shared.contracts.households import DepartmentDataReceived
from shared.errors import Conflict, DomainError, NotFound


class PayloadTooLarge(DomainError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


@dataclass(frozen=True)
class RowRefusal:
    """Why one row was not applied: its index in the submission, the field, a message and a code (never the
    value)."""

    row: int
    field: str
    message: str
    code: str


@dataclass(frozen=True)
class ReadRow:
    """A row as its kind's row model read it: its plain values by field (an ID-card number as its text), and the
    dates of what has happened by field (an ID-card number's birth date among them)."""

    values: Mapping[str, Any]
    happened: Mapping[str, date | None]


# Reads the row at an index of the submission: its values, or the errors that keep it from being read.
Parse = Callable[[int, Any], ReadRow | list[RowRefusal]]


@dataclass
class BatchOutcome:
    """What a submission did: rows received, applied and refused, and why each refused row was."""

    batch_id: UUID
    kind: DataKind
    row_count: int
    applied_count: int
    error_count: int
    errors: list[RowRefusal] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, text: str) -> BatchOutcome:
        stored = json.loads(text)
        errors = capped([RowRefusal(**e) for e in stored.pop("errors")])
        return cls(**{**stored, "batch_id": UUID(stored["batch_id"]), "kind": DataKind(stored["kind"])}, errors=errors)


def capped(errors: Sequence[RowRefusal]) -> list[RowRefusal]:
    """At most `MAX_ERRORS_PER_ROW` errors of each row, in their order (a report stored before the cap had none)."""
    seen: Counter[int] = Counter()
    kept = []
    for error in errors:
        seen[error.row] += 1
        if seen[error.row] <= MAX_ERRORS_PER_ROW:
            kept.append(error)
    return kept


def read_row(index: int, raw: Any, parse: Parse, ctx: RowContext) -> ReadRow | list[RowRefusal]:
    """One row read by its row model, its dates of what has happened not after the day; or its errors (the first
    `MAX_ERRORS_PER_ROW`)."""
    row = parse(index, raw)
    if isinstance(row, list):
        return row[:MAX_ERRORS_PER_ROW]
    if late := dates.late(ctx.today, row.happened):
        late_fields = late[:MAX_ERRORS_PER_ROW]
        return [RowRefusal(row=index, field=name, message=dates.MESSAGE, code=dates.CODE) for name in late_fields]
    return row


async def apply_row(
    session: AsyncSession, kind: DataKind, index: int, raw: Any, parse: Parse, ctx: RowContext
) -> list[RowRefusal]:
    """Read and apply one row inside a savepoint; its errors (the first `MAX_ERRORS_PER_ROW`), or [] when it was
    applied."""
    row = read_row(index, raw, parse, ctx)
    if isinstance(row, list):
        return row
    try:
        async with session.begin_nested():
            await APPLIERS[kind](session, row.values, ctx)
            await session.flush()
    except DomainError as exc:
        return [RowRefusal(row=index, field="", message=exc.detail, code=exc.slug)]
    except IntegrityError:
        return [RowRefusal(row=index, field="", message="The row conflicts with registered data.", code="conflict")]
    return []


async def compare_rows(
    session: AsyncSession, kind: DataKind, batch_id: UUID, rows: Sequence[Any], parse: Parse, ctx: RowContext
) -> list[RowRefusal]:
    """Read each row of a compared kind (数据比对: companies, vehicles, public salaries) and compare the valid ones
    with the register in bulk, never storing them; the errors, a row naming nobody registered among them."""
    errors: list[RowRefusal] = []
    valid: dict[int, Mapping[str, Any]] = {}
    for index, raw in enumerate(rows):
        row = read_row(index, raw, parse, ctx)
        if isinstance(row, list):
            errors.extend(row)
        else:
            valid[index] = row.values
    unmatched = await comparisons.compare_rows(
        session, kind, valid, batch_id=batch_id, vault=ctx.config.vault, today=ctx.today, now=ctx.now
    )
    errors.extend(RowRefusal(row=i, field="", message=NOBODY, code=NotFound.slug) for i in unmatched)
    return sorted(errors, key=lambda error: error.row)


def _digest(kind: DataKind, rows: Sequence[Any], ctx: RowContext) -> str:
    # Keyed, because the rows hold ID-card numbers and a plain hash of a small body could be brute-forced.
    canonical = json.dumps({"kind": kind.value, "rows": list(rows)}, sort_keys=True, separators=(",", ":"), default=str)
    return ctx.config.vault.keyed_digest(canonical.encode())


def _key_digest(key: str, ctx: RowContext) -> str:
    # A department may well use a number of its own, even a citizen's, as its batch key: kept only as a keyed hash.
    return ctx.config.vault.keyed_digest(b"department-batch-key:" + key.encode())


async def _batch(session: AsyncSession, kind: DataKind, key_digest: str, key: str) -> DepartmentBatch | None:
    # A batch recorded before keys were hashed holds the key itself until retention purges it.
    stmt = select(DepartmentBatch).where(
        col(DepartmentBatch.kind) == kind, col(DepartmentBatch.idempotency_key).in_([key_digest, key])
    )
    return (await session.scalars(stmt)).first()


def _stored(batch: DepartmentBatch, digest: str) -> BatchOutcome:
    """The report of an earlier submission under the same key, if it was this submission."""
    if batch.request_digest != digest:
        raise Conflict("This Idempotency-Key was already used for a different submission.")
    return BatchOutcome.from_json(batch.report)


async def _claim(
    session: AsyncSession, kind: DataKind, key: str, digest: str, rows: int, *, actor: Principal, ctx: RowContext
) -> DepartmentBatch | BatchOutcome:
    """The new batch for this key, or the stored report when the key was already used for this submission.

    On PostgreSQL a concurrent submission with the same key waits on the unique key until the first commits, then
    answers with its report (a savepoint keeps the transaction usable after the failed insert)."""
    key_digest = _key_digest(key, ctx)
    if (existing := await _batch(session, kind, key_digest, key)) is not None:
        return _stored(existing, digest)
    batch = DepartmentBatch(
        kind=kind,
        idempotency_key=key_digest,
        request_digest=digest,
        submitted_by=actor.subject,
        received_at=ctx.now,
        row_count=rows,
        applied_count=0,
        error_count=0,
        report="{}",
    )
    try:
        async with session.begin_nested():
            session.add(batch)
    except IntegrityError:
        committed = await _batch(session, kind, key_digest, key)
        if committed is None:  # the other submission rolled back: it holds nothing to answer with
            raise Conflict("A submission with this Idempotency-Key failed meanwhile; send it again.") from None
        return _stored(committed, digest)
    return batch


async def submit(
    session: AsyncSession,
    kind: DataKind,
    key: str,
    rows: Sequence[Any],
    *,
    parse: Parse,
    actor: Principal,
    ctx: RowContext,
) -> tuple[BatchOutcome, bool]:
    """Apply a submission once per idempotency key, each row as `parse` reads it: its report, and whether it is the
    stored report of an earlier submission of the same rows under the key (which changes nothing)."""
    if len(rows) > ctx.config.department_max_rows:
        raise PayloadTooLarge(f"At most {ctx.config.department_max_rows} rows per submission; split the data.")
    claimed = await _claim(
        session, kind, _key_digest(key, ctx), _digest(kind, rows, ctx), len(rows), actor=actor, ctx=ctx
    )
    if isinstance(claimed, BatchOutcome):
        return claimed, True
    errors: list[RowRefusal] = []
    if kind in COMPARED:
        errors = await compare_rows(session, kind, claimed.id, rows, parse, ctx)
    else:
        for index, raw in enumerate(rows):
            errors.extend(await apply_row(session, kind, index, raw, parse, ctx))
    failed = len({e.row for e in errors})
    report = BatchOutcome(
        batch_id=claimed.id,
        kind=kind,
        row_count=len(rows),
        applied_count=len(rows) - failed,
        error_count=failed,
        errors=errors,
    )
    claimed.applied_count, claimed.error_count, claimed.report = report.applied_count, failed, report.to_json()
    session.add(claimed)
    received = DepartmentDataReceived(
        batch_id=claimed.id, kind=kind, row_count=len(rows), applied_count=report.applied_count, error_count=failed
    )
    publish(session, received)
    return report, False
