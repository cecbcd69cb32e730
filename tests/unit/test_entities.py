"""`new_entity` makes the object `Model(**values)` makes: same values, defaults, fields set; it persists alike.
`new_row` gives the values that object would insert."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import SQLModel

from services.audit.models import DisciplineReferral, Finding, RectificationTask
from shared.db import create_engine, session_factory
from shared.entities import new_entity, new_row

NOW = datetime(2020, 5, 1, 8, tzinfo=UTC)
FINDING = {
    "subject_kind": "household", "subject_id": "h-1", "area_code": "371523101201", "category": "housing",
    "code": "housing_unsafe", "severity": "severe", "description": "D-grade house", "source_ref": "p-1",
    "opened_at": NOW, "last_seen_at": NOW, "evidence": [{"kind": "photo", "ref": "e-1"}],
}  # fmt: skip


def fields(entity: SQLModel, *, but: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    return {name: getattr(entity, name) for name in type(entity).model_fields if name not in but}


def test_the_object_is_the_one_the_constructor_makes() -> None:
    built, constructed = new_entity(Finding, **FINDING), Finding(**FINDING)
    assert fields(built) == fields(constructed)
    assert (built.status, built.occurrences, built.referred_at) == ("open", 1, None)  # defaults filled
    assert built.model_fields_set == constructed.model_fields_set == set(FINDING)
    task = {"finding_id": built.id, "owner": "town-1", "deadline": NOW, "opened_at": NOW}
    assert fields(new_entity(RectificationTask, **task)) == fields(RectificationTask(**task))


def test_default_factories_run_for_each_object() -> None:
    values = {k: v for k, v in FINDING.items() if k != "evidence"}
    first, second = new_entity(Finding, **values), new_entity(Finding, **values)
    assert first.id != second.id
    assert first.evidence == [] and first.evidence is not second.evidence
    first.evidence.append({"kind": "photo"})
    assert second.evidence == []


async def test_it_is_inserted_like_a_constructed_object(sqlite_url: Callable[[str], Awaitable[str]]) -> None:
    engine = create_engine(await sqlite_url("audit"))
    sessions = session_factory(engine)
    finding = new_entity(Finding, **FINDING)
    referral = new_entity(
        DisciplineReferral, finding_id=finding.id, reason="severe_finding", severity="severe", referred_at=NOW
    )
    async with sessions() as session, session.begin():
        session.add_all([referral, finding])  # the unit of work still orders the finding first
    async with sessions() as session:
        stored = await session.get(Finding, finding.id)
        stored_referral = await session.get(DisciplineReferral, referral.id)
    await engine.dispose()
    assert stored is not None and fields(stored, but=()) == fields(finding, but=())
    assert stored_referral is not None and stored_referral.finding_id == finding.id


def test_a_row_holds_the_values_the_constructed_object_inserts() -> None:
    row, constructed = new_row(Finding, **FINDING), Finding(**FINDING)
    assert row.keys() == type(constructed).model_fields.keys()
    assert {k: v for k, v in row.items() if k != "id"} == fields(constructed)
    assert row["id"] != new_row(Finding, **FINDING)["id"]  # factories run for each row
    assert new_row(Finding, **FINDING, status="closed")["status"] == "closed"
