"""Helpers shared by the test tiers: tokens, app clients on a migrated database, problem+json checks, work run in the
background."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from alembic import command
from fastapi import FastAPI
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from shared.auth import issue_token
from shared.contracts import IntegrationEvent
from shared.contracts.households import HouseholdProblemFound, ProblemCategory
from shared.db import create_engine
from shared.messaging.cloudevents import Envelope
from shared.messaging.inbox import InboxEntry
from shared.messaging.outbox import OutboxMessage
from shared.migrations import alembic_config, upgrade_to_head
from shared.settings import DEV_JWT_SECRET
from shared.timeutil import district_today

SETTINGS_CLASSES = {
    "households": "HouseholdsSettings",
    "projects": "ProjectsSettings",
    "subsidies": "SubsidiesSettings",
    "audit": "AuditSettings",
}


def token(*roles: str, area: str | None = None, sub: str = "officer-1", secret: str = DEV_JWT_SECRET) -> str:
    return issue_token(secret, sub, list(roles), area)


def auth(*roles: str, area: str | None = None, sub: str = "officer-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(*roles, area=area, sub=sub)}"}


def service_settings(service: str, **overrides: Any) -> Any:
    """The service's settings; metrics not served unless asked (`metrics_port`): many apps run in one process, and
    other test runs on the machine may hold the default port."""
    overrides.setdefault("metrics_port", 0)
    module = importlib.import_module(f"services.{service}.settings")
    return getattr(module, SETTINGS_CLASSES[service])(**overrides)


def service_app(service: str, settings: Any) -> FastAPI:
    app: FastAPI = importlib.import_module(f"services.{service}.app").create_app(settings)
    return app


async def migrate_over(service: str, url: str, revision: str, rows: dict[Table, list[dict[str, Any]]]) -> None:
    """A database taken back to `revision`, given `rows` (table -> values, only the columns the revision has), is
    migrated to head again, as a deployment would."""

    def to(target: str, connection: Any) -> None:
        cfg = alembic_config(service)
        cfg.attributes["connection"] = connection
        (command.downgrade if target != "head" else command.upgrade)(cfg, target)

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: to(revision, c))
            for table, values in rows.items():
                await conn.execute(insert(table), values)
            await conn.run_sync(lambda c: to("head", c))
    finally:
        await engine.dispose()


async def migrate_to(service: str, url: str, revision: str) -> None:
    """`service`'s database at `url` upgraded to `revision` ("head": all the way), as a migration job would."""

    def upgrade(connection: Any) -> None:
        config = alembic_config(service)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade)
    finally:
        await engine.dispose()


async def migrate(service: str, url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine, service)
    finally:
        await engine.dispose()


@asynccontextmanager
async def in_background(work: Coroutine[Any, Any, Any]) -> AsyncIterator[asyncio.Task[Any]]:
    """`work` running in a task of its own (a relay, a consumer, a periodic job, as a service runs it), cancelled and
    awaited at the end."""
    task = asyncio.create_task(work)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@asynccontextmanager
async def running_app(
    service: str, database_url: str, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The service's app with its lifespan running, and a client that calls it in-process."""
    overrides.setdefault("kafka_enabled", False)
    app = service_app(service, service_settings(service, database_url=database_url, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with `status`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


def envelope_of(event: IntegrationEvent, source: str = "/tests", at: datetime | None = None) -> Envelope:
    """The CloudEvent a relay would publish for `event` (made now, or `at`)."""
    return Envelope(
        id=str(uuid.uuid4()),
        type=event.event_type,
        source=source,
        subject=event.aggregate_id(),
        time=at or datetime.now(UTC),
        data=event.model_dump_json().encode(),
    )


async def apply_event(app: FastAPI, event: IntegrationEvent, at: datetime | None = None) -> None:
    """Run the app's handlers for `event` (made now, or `at`) in one transaction, as its consumer would (no Kafka)."""
    application = app.state.runtime.handlers.bind(event.topic, envelope_of(event, at=at))
    assert application is not None, f"no handler for {event.event_type}"
    async with app.state.sessions() as session, session.begin():
        await application(session)


def household_problem(household: uuid.UUID, *, found_by: str = "cadre-7") -> HouseholdProblemFound:
    """A child out of school found on a visit today (reported the day found: no late reporting): a problem that
    audit turns into a finding."""
    return HouseholdProblemFound(
        household_id=household,
        problem_id=uuid.uuid4(),
        visit_id=uuid.uuid4(),
        area_code="371523101201",
        category=ProblemCategory.SCHOOLING,
        code="school_dropout",
        description="child out of school",
        found_on=district_today(),
        found_by=found_by,
    )


async def seed_messaging_rows(engine: AsyncEngine, rows: dict[str, tuple[datetime, bool]]) -> None:
    """One outbox row and one inbox row per name: (occurred/processed at, published?)."""
    async with engine.begin() as conn:
        for name, (at, published) in rows.items():
            await conn.execute(
                insert(OutboxMessage).values(
                    event_id=name, topic="t", key=name, event_type="test", source="/tests", occurred_at=at,
                    payload="{}", published_at=at if published else None,
                )
            )  # fmt: skip
            inbox = insert(InboxEntry).values(consumer="c", event_id=name, event_type="test", processed_at=at)
            await conn.execute(inbox)


async def remaining_messaging_rows(engine: AsyncEngine) -> tuple[set[str], set[str]]:
    """The event ids still in the outbox and in the inbox."""
    async with engine.connect() as conn:
        outbox = set((await conn.scalars(select(col(OutboxMessage.event_id)))).all())
        inbox = set((await conn.scalars(select(col(InboxEntry.event_id)))).all())
    return outbox, inbox
