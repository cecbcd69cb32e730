"""The households service on real PostgreSQL: uniqueness races, idempotent department submissions under
concurrency, the COPY import path (and its fallback when two imports race), and the migrations both ways."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, select

from services.households.api import monitoring as monitoring_routes
from services.households.domain import rekey
from services.households.domain.departments import apply
from services.households.domain.imports.command import main as import_cli
from services.households.domain.imports.importer import HouseholdImporter
from services.households.domain.imports.rows import OPTIONAL, REQUIRED, RowError
from services.households.domain.imports.sources import open_table
from services.households.models import DepartmentBatch, Household, Member
from services.households.settings import HouseholdsSettings
from shared.contracts.households import HouseholdRegistered, MemberAdded
from shared.db import create_engine
from shared.messaging.outbox import OutboxMessage
from shared.migrations import alembic_config, is_at_head
from shared.timeutil import district_today, utcnow
from tests.support import auth, running_app
from tests.unit.test_households_helpers import OFFICE, VILLAGE, household, make_id, member
from tests.unit.test_households_rekey import ROTATED

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]


async def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                m.__name__: int(await conn.scalar(select(func.count()).select_from(m)) or 0)
                for m in (Household, Member, OutboxMessage, DepartmentBatch)
            }
    finally:
        await engine.dispose()


async def test_two_registrations_racing_for_one_id_number_give_one_201_and_one_409(pg_database: MakeDb) -> None:
    url = await pg_database("households")
    async with running_app("households", url) as (_, client):
        for attempt in range(5):
            born = date(1960, 1, attempt + 1)
            bodies = [
                household(f"RACE-{attempt}-{n}", VILLAGE, member("王五", "head", born, seq=attempt)) for n in (1, 2)
            ]
            results = await asyncio.gather(*(client.post("/v1/households", json=b, headers=OFFICE) for b in bodies))
            assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
            assert all(make_id(born, attempt) not in r.text for r in results)
    assert (await counts(url))["Household"] == 5


async def test_a_department_key_sent_twice_at_once_is_applied_once(pg_database: MakeDb) -> None:
    url = await pg_database("households")
    async with running_app("households", url) as (_, client):
        born = date(1960, 3, 1)
        body = household("DEPT-1", VILLAGE, member("张三", "head", born, seq=1))
        assert (await client.post("/v1/households", json=body, headers=OFFICE)).status_code == 201
        rows = [
            {"id_number": make_id(born, 1), "amount_fen": 300_000, "occurred_on": "2020-03-01"},
            {"member_id": "00000000-0000-4000-8000-000000000000", "amount_fen": 1, "occurred_on": "2020-03-01"},
            {"id_number": make_id(born, 1), "amount_fen": 800_000, "occurred_on": "2020-04-01"},
        ]
        headers = {**auth("dept_health"), "Idempotency-Key": "health-2020-04"}
        results = await asyncio.gather(
            *(client.post("/v1/department-data/hospital_cost", json={"rows": rows}, headers=headers) for _ in range(3))
        )
        # One applies the rows; the others wait on the key, then answer its report as a replay.
        assert sorted(r.status_code for r in results) == [200, 200, 201], [r.text for r in results]
        [applied] = [r.json() for r in results if r.status_code == 201]
        assert applied["applied_count"] == 2 and [e["row"] for e in applied["errors"]] == [1]
        replays = [r for r in results if r.status_code == 200]
        assert all(r.headers["idempotency-replayed"] == "true" and r.json() == applied for r in replays)
        replay = await client.post("/v1/department-data/hospital_cost", json={"rows": rows}, headers=headers)
        assert replay.headers["idempotency-replayed"] == "true" and replay.json() == applied
    found = await counts(url)
    assert found["DepartmentBatch"] == 1


HEADER = [*REQUIRED, *OPTIONAL]


def write_file(path: Path, households: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for h in range(households):
            for m in range(1 + h % 3):
                born = date(1950 + m * 20, 1 + h % 12, 1 + h % 28)
                number = make_id(born, h)
                values = [
                    f"PG-{h:04d}",
                    VILLAGE,
                    f"户主{h}",
                    f"成员{m}",
                    "head" if m == 0 else "son",
                    born.isoformat(),
                    number,
                    "true",
                ]
                writer.writerow(values + [""] * (len(HEADER) - len(values)))
    return path


async def import_file(url: str, path: Path, chunk: int, workers: int) -> tuple[Any, list[RowError]]:
    engine = create_engine(url)
    errors: list[RowError] = []
    try:
        importer = HouseholdImporter(engine, HouseholdsSettings(), actor="t", chunk=chunk, workers=workers)
        with open_table(path) as table:
            now = utcnow()
            report = await importer.run(table, now=now, today=district_today(now), on_error=errors.append)
    finally:
        await engine.dispose()
    return report, errors


async def test_the_cli_imports_through_copy_and_a_rerun_changes_nothing(pg_database: MakeDb, tmp_path: Path) -> None:
    url = await pg_database("households")
    path = write_file(tmp_path / "h.csv", 300)
    assert await asyncio.to_thread(import_cli, [str(path), "--database-url", url, "--quiet"]) == 0
    first = await counts(url)
    # One registration a household, and a member added and a medical-cover event an (insured) member, as the API
    # publishes.
    assert (first["Household"], first["Member"], first["OutboxMessage"]) == (300, 600, 1500)
    assert await asyncio.to_thread(import_cli, [str(path), "--database-url", url, "--quiet"]) == 0
    assert await counts(url) == first
    async with running_app("households", url) as (_, client):
        born = date(1970, 1 + 7 % 12, 1 + 7 % 28)
        found = await client.post("/v1/households/search", json={"id_number": make_id(born, 7)}, headers=OFFICE)
        assert found.json()["household"]["household_code"] == "PG-0007"


async def test_two_imports_racing_on_one_file_create_each_household_once(pg_database: MakeDb, tmp_path: Path) -> None:
    url = await pg_database("households")
    path = write_file(tmp_path / "h.csv", 200)
    (one, errors_one), (two, errors_two) = await asyncio.gather(
        import_file(url, path, 50, 1), import_file(url, path, 50, 1)
    )
    assert errors_one == [] and errors_two == []
    members = sum(1 + h % 3 for h in range(200))
    assert one.households_created + two.households_created == 200
    assert one.members_added + two.members_added == members
    assert one.members_present + two.members_present == members  # each saw the other's rows as present
    found = await counts(url)
    # A registration a household; a member added and a medical-cover event an (insured) member.
    assert (found["Household"], found["Member"], found["OutboxMessage"]) == (200, members, 200 + 2 * members)


@pytest.mark.parametrize("workers", [0, 2], ids=["two-connections", "two-worker-processes"])
async def test_a_household_whose_rows_are_far_apart_is_whole_when_chunks_are_written_at_once(
    pg_database: MakeDb, tmp_path: Path, workers: int
) -> None:
    url = await pg_database("households")
    with write_file(tmp_path / "h.csv", 60).open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    codes = list(dict.fromkeys(r[0] for r in rows))
    apart: list[list[str]] = []
    for start in range(0, len(codes), 10):  # ten households' first rows, then their other rows
        group = set(codes[start : start + 10])
        mine = [r for r in rows if r[0] in group]
        firsts = [r for n, r in enumerate(mine) if all(o[0] != r[0] for o in mine[:n])]
        apart += firsts + [r for r in mine if r not in firsts]
    with (tmp_path / "apart.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *apart])
    # Chunks of 10 households, two written at once: the chunk holding the later rows of a household races the
    # chunk registering it; the loser is retried household by household and adds the members.
    report, errors = await import_file(url, tmp_path / "apart.csv", 10, workers)
    members = sum(1 + h % 3 for h in range(60))
    assert errors == [] and (report.households_created, report.members_added) == (60, members)
    found = await counts(url)
    assert (found["Household"], found["Member"]) == (60, members)
    registered, added = await published_members(url)
    # Every member announced once, whether registered with the household or added to it by the later chunk.
    assert len(registered) == 60 and sum(registered) <= members and added == members


async def published_members(url: str) -> tuple[list[int], int]:
    """The member counts of the HouseholdRegistered events, and how many MemberAdded events were written."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(OutboxMessage.event_type, OutboxMessage.payload))).all()
    finally:
        await engine.dispose()
    registered = [json.loads(p)["member_count"] for t, p in rows if t == HouseholdRegistered.event_type]
    return registered, sum(t == MemberAdded.event_type for t, _ in rows)


async def test_the_migrations_go_down_and_up_again(pg_database: MakeDb) -> None:
    url = await pg_database("households")
    engine = create_engine(url)
    try:

        def down_and_up(connection: Any) -> None:
            cfg = alembic_config("households")
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0001")
            command.upgrade(cfg, "head")

        async with engine.begin() as conn:
            await conn.run_sync(down_and_up)
        assert await is_at_head(engine, "households")
    finally:
        await engine.dispose()


async def test_lists_filters_and_statistics_run_on_postgresql(pg_database: MakeDb) -> None:
    url = await pg_database("households")
    async with running_app("households", url) as (_, client):
        ids = []
        for n, village in enumerate(("371523101201", "371523101202", "371523105203")):
            body = household(
                f"ST-{n}", village, member("户主", "head", date(1960, 1, n + 1), seq=n, medical_insured=n > 0)
            )
            r = await client.post("/v1/households", json=body, headers=OFFICE)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        appraisal = {"grade": "D", "appraised_on": "2020-03-01", "appraiser": "x"}
        await client.post(f"/v1/households/{ids[0]}/housing-appraisals", json=appraisal, headers=OFFICE)
        await client.post(
            f"/v1/households/{ids[1]}/visits",
            json={"round": 2, "visited_on": "2020-05-01", "visitor": "x"},
            headers=OFFICE,
        )
        flag = {"kind": "disaster", "detail": "x", "raised_on": str(district_today())}
        await client.post(f"/v1/households/{ids[2]}/risk-flags", json=flag, headers=OFFICE)
        await client.put(
            "/v1/poverty-lines/2020", json={"line_fen": 450_000, "monitoring_margin_fen": 0}, headers=OFFICE
        )
        listed = await client.get(
            "/v1/households?gap=medical&under_monitoring=false&area_code=371523101", headers=OFFICE
        )
        assert [h["household_code"] for h in listed.json()["items"]] == ["ST-0"]
        flagged = await client.get("/v1/households?risk_flag=disaster&limit=1", headers=OFFICE)
        assert [h["household_code"] for h in flagged.json()["items"]] == ["ST-2"]
        stats = (await client.get("/v1/statistics?year=2020", headers=OFFICE)).json()
        total = stats["total"]
        assert total["households"] == 3 and total["gaps"]["income"] == 3 and total["gaps"]["medical"] == 1
        assert (total["housing_cd_outstanding"], total["visits_by_round"], total["under_monitoring"]) == (
            1,
            {"2": 1},
            1,
        )
        episodes = (await client.get("/v1/monitoring-episodes?status=open&limit=1", headers=OFFICE)).json()
        assert len(episodes["items"]) == 1 and episodes["next_cursor"] is None


async def test_a_department_row_sees_an_officers_edit_committed_before_it_locked_the_household(
    pg_database: MakeDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = await pg_database("households")
    async with running_app("households", url) as (_, client):
        born = date(1960, 3, 1)
        body = household("LOST-1", VILLAGE, member("张三", "head", born, seq=1, medical_insured=True))
        created = (await client.post("/v1/households", json=body, headers=OFFICE)).json()
        hid, mid = created["id"], created["members"][0]["id"]
        lock = apply._locked_household

        async def officer_edits_first(session: Any, household_id: Any) -> Household:
            # the officer's change commits after the department found the member, before it took the lock
            r = await client.patch(
                f"/v1/households/{hid}/members/{mid}", json={"medical_insured": False}, headers=OFFICE
            )
            assert r.status_code == 200, r.text
            return await lock(session, household_id)

        monkeypatch.setattr(apply, "_locked_household", officer_edits_first)
        rows = [{"id_number": make_id(born, 1), "medical_insured": True}]
        headers = {**auth("dept_health"), "Idempotency-Key": "lost-1"}
        r = await client.post("/v1/department-data/medical_insurance", json={"rows": rows}, headers=headers)
        assert r.status_code == 201 and r.json()["applied_count"] == 1, r.text
        monkeypatch.undo()
        after = (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["members"][0]
        assert after["medical_insured"] is True


async def test_a_measure_racing_a_close_sees_the_episode_closed(
    pg_database: MakeDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = await pg_database("households")
    async with running_app("households", url) as (_, client):
        today = str(district_today())
        created = await client.post("/v1/households", json=household("EP-1", VILLAGE), headers=OFFICE)
        hid = created.json()["id"]
        flag = {"kind": "disaster", "detail": "flood", "raised_on": today}
        episode = (await client.post(f"/v1/households/{hid}/risk-flags", json=flag, headers=OFFICE)).json()["id"]
        close = {"decision": "risk_eliminated", "evidence": "院墙已修复", "closed_on": today}
        measure = {"kind": "other", "description": "aid", "taken_on": today}
        assert (
            await client.post(f"/v1/monitoring-episodes/{episode}/measures", json=measure, headers=OFFICE)
        ).is_success
        reach = monitoring_routes.reachable_household
        closes: list[int] = []

        async def close_first(*args: Any, **kwargs: Any) -> Household:
            # another officer's close commits after this request read the episode, before it locked the household
            if not closes:
                closes.append(0)
                r = await client.post(f"/v1/monitoring-episodes/{episode}/close", json=close, headers=OFFICE)
                closes[0] = r.status_code
            return await reach(*args, **kwargs)

        monkeypatch.setattr(monitoring_routes, "reachable_household", close_first)
        late = await client.post(f"/v1/monitoring-episodes/{episode}/measures", json=measure, headers=OFFICE)
        monkeypatch.undo()
        assert closes == [200]
        assert late.status_code == 409, late.text
        [stored] = (await client.get(f"/v1/households/{hid}/monitoring-episodes", headers=OFFICE)).json()["items"]
        assert stored["status"] == "closed" and len(stored["measures"]) == 1


async def test_two_officers_setting_a_new_years_line_at_once_both_succeed(pg_database: MakeDb) -> None:
    url = await pg_database("households")
    async with running_app("households", url) as (_, client):
        for year in range(2021, 2026):
            bodies = [{"line_fen": 450_000 + n, "monitoring_margin_fen": 0} for n in range(3)]
            results = await asyncio.gather(
                *(client.put(f"/v1/poverty-lines/{year}", json=b, headers=OFFICE) for b in bodies)
            )
            assert [r.status_code for r in results] == [200, 200, 200], [r.text for r in results]
        lines = (await client.get("/v1/poverty-lines", headers=OFFICE)).json()["items"]
        assert [line["year"] for line in lines] == list(range(2021, 2026))


async def test_copy_refuses_a_second_member_with_the_same_number_in_one_household_and_a_rerun_too(
    pg_database: MakeDb, tmp_path: Path
) -> None:
    url = await pg_database("households")
    born = date(1960, 3, 1)
    number = make_id(born, 1)
    values = ["IM-1", VILLAGE, "户主", "王秀英", "head", born.isoformat(), number, "true"]
    sister = [*values[:3], "王秀华", "sibling", *values[5:]]  # another person claiming the same number
    path = tmp_path / "h.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([HEADER, *(v + [""] * (len(HEADER) - len(v)) for v in (values, sister))])
    for present in (0, 1):  # the first run, then the same file again: the stored member is present
        report, errors = await import_file(url, path, 1000, 0)
        assert [(e.line, e.field) for e in errors] == [(3, "id_number")] and number not in errors[0].message
        assert (report.members_added, report.members_present) == (1 - present, present)
        found = await counts(url)
        assert (found["Household"], found["Member"]) == (1, 1)


async def test_a_member_row_held_through_the_rotation_is_reported_left_not_skipped_silently(
    pg_database: MakeDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = await pg_database("households")
    async with running_app("households", url) as (_, client):
        head, spouse = (
            member("张三", "head", date(1960, 3, 1), seq=1),
            member("李四", "spouse", date(1962, 7, 9), seq=2),
        )
        await client.post("/v1/households", json=household("RK-1", VILLAGE, head, spouse), headers=OFFICE)
    for key, value in ROTATED.items():
        monkeypatch.setenv(f"HOUSEHOLDS_{key.upper()}", value)
    monkeypatch.setattr(rekey, "HELD_ROW_RETRIES", 2)
    monkeypatch.setattr(rekey, "HELD_ROW_WAIT_S", 0.05)
    engine = create_engine(url)
    try:
        async with engine.begin() as editing:  # a member being edited meanwhile: its row is locked
            await editing.execute(select(Member.id).limit(1).with_for_update())
            with pytest.raises(rekey.RowsLeft, match="1 still under older keys"):
                await rekey.run(url, rehash_too=False)
    finally:
        await engine.dispose()
    assert "re-encrypted 1 " in await rekey.run(url, rehash_too=False)  # released: a second run seals it


async def test_a_visit_s_problems_are_written_after_the_visit_they_reference(pg_database: MakeDb) -> None:
    url = await pg_database("households")
    async with running_app("households", url) as (_, client):
        created = await client.post("/v1/households", json=household("V-1", VILLAGE), headers=OFFICE)
        problems = [{"category": "income", "code": "no_income", "description": "无稳定收入"}]
        visit = {"round": 1, "visited_on": "2020-05-12", "visitor": "x", "housing_grade": "D", "problems": problems}
        r = await client.post(f"/v1/households/{created.json()['id']}/visits", json=visit, headers=OFFICE)
    assert r.status_code == 201, r.text
    assert sorted(p["code"] for p in r.json()["problems"]) == ["housing_unsafe", "no_income"]
