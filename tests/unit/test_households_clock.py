"""Households acts at the request's clock (`shared.api.clock.request_time`), never the server's: every timestamp a
request writes is the injected moment, and a row nobody stamped is refused rather than stamped with the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from services.households import models
from shared.api.clock import request_time
from shared.timeutil import UTCDateTime
from tests.unit.test_households_documented_input import EXAMPLE_CADRE, every_example_sent
from tests.unit.test_households_helpers import households_app

MOMENT = datetime(2020, 12, 20, 2, tzinfo=UTC)  # 10:00 on 20 December 2020 in the district
# Written by audit's, subsidies' and projects' events (stamped by their handlers), not by a request.
FED_BY_EVENTS = {models.HouseholdOpenFinding, models.TransferReceipt, models.ApprovalRecord}


def stamped_tables() -> dict[type[SQLModel], list[str]]:
    """Each table of the register with its timestamp columns."""
    tables = {}
    for model in vars(models).values():
        if isinstance(model, type) and issubclass(model, SQLModel) and hasattr(model, "__table__"):
            columns = [c.name for c in model.__table__.columns if isinstance(c.type, UTCDateTime)]
            if columns and model not in FED_BY_EVENTS:
                tables[model] = columns
    return tables


def test_the_register_has_timestamps_to_check() -> None:
    assert {m.__name__ for m in stamped_tables()} >= {
        "Household", "HouseholdChange", "HelperCadre", "IdCardReveal", "HousingAppraisal", "WaterCheck",
        "PovertyLine", "IncomeRecord", "MedicalExpense", "DepartmentBatch",
    }  # fmt: skip


async def test_every_timestamp_a_request_writes_is_the_request_clocks(sqlite_url: Any) -> None:
    async with households_app(sqlite_url) as (app, client):
        app.dependency_overrides[request_time] = lambda: MOMENT
        await every_example_sent(app, client)
        found: dict[str, set[datetime]] = {}
        async with app.state.sessions() as s:
            for model, columns in stamped_tables().items():
                rows = (await s.scalars(select(model))).all()
                made = [r for r in rows if not (model is models.HelperCadre and r.id == EXAMPLE_CADRE)]
                assert made, f"no request wrote a {model.__name__}"
                for column in columns:
                    found[f"{model.__name__}.{column}"] = {getattr(r, column) for r in made}
    assert found == {name: {MOMENT} for name in found}


async def test_a_row_without_its_stamp_is_refused_not_stamped_with_the_wall_clock(sqlite_url: Any) -> None:
    async with households_app(sqlite_url) as (app, _), app.state.sessions() as s:
        s.add(models.HouseholdChange(household_id=uuid4(), actor="x", action="x", changes="{}"))
        with pytest.raises(IntegrityError, match=r"NOT NULL constraint failed: householdchange\.changed_at"):
            await s.flush()
