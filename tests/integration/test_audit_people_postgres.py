"""Responsible people (责任人) on real PostgreSQL: statistics by person and unit counted by its aggregates, officers
set at once by two offices, a consumed problem naming its cadre or the area's officer, late reporting, hand-overs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit.models import AreaOfficer, Finding, Notification, ResponsibilityChange
from services.audit.rules.responsibility import LATE_REPORTING
from shared.api.clock import request_time
from shared.db import create_engine
from tests.support import running_app
from tests.unit.test_audit_people import (
    DISTRICT,
    HANDOVER,
    NOW,
    OFFICER_BODY,
    TODAY,
    TOWNSHIP,
    VILLAGE,
    check_statistics,
    consume,
    manual_finding,
    problem,
    rows,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def sessions(pg_database: Any) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(await pg_database("audit"))
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


@pytest.fixture
async def api(pg_database: Any) -> Any:
    async with running_app("audit", await pg_database("audit")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW
        yield app, client


async def test_statistics_count_each_persons_and_units_findings_exactly(api: Any) -> None:
    await check_statistics(*api)


async def test_two_offices_setting_one_areas_officer_at_once_end_with_one_of_them(api: Any) -> None:
    app, client = api
    bodies = [{**OFFICER_BODY, "person_id": f"officer-{n}"} for n in range(4)]
    answers = await asyncio.gather(
        *(client.put(f"/v1/area-officers/{TOWNSHIP}", json=body, headers=DISTRICT) for body in bodies)
    )
    assert [a.status_code for a in answers] == [200] * 4
    async with app.state.sessions() as s:
        [officer] = (await s.scalars(select(AreaOfficer))).all()
    assert officer.person_id in {b["person_id"] for b in bodies}


async def test_a_batch_of_problems_names_the_cadre_or_the_officer_and_a_late_one_is_late_reporting(
    sessions: Any,
) -> None:
    async with sessions() as s, s.begin():
        s.add(AreaOfficer(area_code=TOWNSHIP, person_id=OFFICER_BODY["person_id"], name=OFFICER_BODY["name"],
                          unit=OFFICER_BODY["unit"], set_by="district-officer-1", set_at=NOW))  # fmt: skip
    await consume(sessions, problem())
    await consume(sessions, problem(responsible=None))
    await consume(sessions, problem(found_on=date(2020, 5, 12), found_by="cadre-li"))  # the cadre's own, late
    found = await rows(sessions, Finding)
    assert sorted((f.code, f.responsible_person_id, f.found_on) for f in found) == [
        (LATE_REPORTING, "cadre-li", TODAY),
        ("school_dropout", "cadre-li", date(2020, 5, 12)),
        ("school_dropout", "cadre-li", TODAY),
        ("school_dropout", "jiazhai-zhang", TODAY),
    ]
    assert sorted(n.person_id for n in await rows(sessions, Notification)) == ["cadre-li"] * 3 + ["jiazhai-zhang"]


async def test_a_finding_is_handed_over_once_however_many_ask_at_once(api: Any) -> None:
    app, client = api
    finding = await manual_finding(client, subject_id=str(uuid.uuid4()), area_code=VILLAGE)
    path = f"/v1/findings/{finding['id']}/responsible"
    answers = await asyncio.gather(*(client.post(path, json=HANDOVER, headers=DISTRICT) for _ in range(3)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409]  # the others find the person already named
    async with app.state.sessions() as s:
        assert len((await s.scalars(select(ResponsibilityChange))).all()) == 1
