"""Each service's migrations build exactly the tables its models describe (no drift, no create_all)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData
from sqlmodel import SQLModel

from shared.api import idempotency  # noqa: F401 - its table joins SQLModel.metadata
from shared.db import create_engine
from shared.messaging import inbox, outbox, quarantine_records  # noqa: F401 - their tables join SQLModel.metadata
from shared.migrations import is_at_head, upgrade_to_head
from shared.service_index import SERVICES

SHARED_TABLES = {"outbox", "inbox", "idempotent_request", "quarantined_record"}


def service_tables(service: str) -> set[str]:
    module = importlib.import_module(f"services.{service}.models")
    tables = {
        obj.__tablename__
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, SQLModel) and hasattr(obj, "__table__")
    }
    return {str(t) for t in tables} | SHARED_TABLES


def service_metadata(service: str) -> MetaData:
    wanted = service_tables(service)
    metadata = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        if table.name in wanted:
            table.to_metadata(metadata)
    return metadata


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_models(service: str, tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/{service}.db")
    try:
        await upgrade_to_head(engine, service)
        assert await is_at_head(engine, service)
        metadata = service_metadata(service)

        def diff(connection: Any) -> list[Any]:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))

        async with engine.connect() as conn:
            differences = await conn.run_sync(diff)
        relevant = [d for d in differences if not (d[0] == "remove_table" and d[1].name == "alembic_version")]
        assert relevant == [], f"{service}: models and migrations differ: {relevant}"
    finally:
        await engine.dispose()
