"""CSV import through the bulk path (SQLite here; PostgreSQL's COPY path in the integration tier)."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import csv
import io
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from services.households.domain.imports import importer as importer_module
from services.households.domain.imports.command import main as cli
from services.households.domain.imports.importer import HouseholdImporter
from services.households.domain.imports.job import CONCURRENTLY, HOUSEHOLD_ATTEMPTS, ChunkJob, WorkerSetup
from services.households.domain.imports.rows import OPTIONAL, REQUIRED, RowError
from services.households.domain.imports.sources import ImportAborted, cell_text, open_table
from services.households.domain.imports.writer import (
    NOT_THE_REGISTERED,
    TWICE_IN_HOUSEHOLD,
    ChunkConflict,
    ChunkResult,
    ChunkWriter,
)
from services.households.models import Household, HouseholdChange, Member
from services.households.settings import HouseholdsSettings
from shared.cli import main as poverty
from shared.db import create_engine
from shared.messaging.outbox import OutboxMessage
from shared.timeutil import district_today, utcnow
from tests.unit.test_households_helpers import OFFICE, VILLAGE, count, household, households_app, make_id, member

SERVICES = Path(__file__).resolve().parents[2] / "services"
HEADER = [*REQUIRED, *OPTIONAL]
NOW = datetime(2020, 6, 30, 4, tzinfo=UTC)  # the time a job's import registers its households at
A1, A2, B1 = make_id(date(1960, 3, 1), 1), make_id(date(1962, 7, 9), 2), make_id(date(1970, 1, 5), 3)


def row(code: str, name: str, born: date, number: str, **extra: str) -> list[str]:
    values = {
        "household_code": code,
        "area_code": VILLAGE,
        "head_name": "户主" + code,
        "member_name": name,
        "relationship_to_head": "head",
        "birth_date": born.isoformat(),
        "id_number": number,
        "medical_insured": "true",
        **extra,
    }
    return [values.get(column, "") for column in HEADER]


CERTIFIED_BEFORE_BIRTH = {
    "disability_type": "physical",
    "disability_grade": "3",
    "disability_certified_on": "1970-01-01",  # the member was born in 1977
}

GOOD = [
    row("IM-1", "王秀英", date(1960, 3, 1), A1),
    row(
        "IM-1",
        "李桂兰",
        date(1962, 7, 9),
        A2,
        relationship_to_head="spouse",
        disability_type="physical",
        disability_grade="2",
        disability_certified_on="2015-06-01",
    ),
    row("IM-2", "张玉珍", date(1970, 1, 5), B1, medical_insured="false", labour_capacity="weak"),
]


def write(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


async def run(url: str, path: Path, chunk: int = 1000, workers: int = 0) -> tuple[Any, list[RowError]]:
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


@pytest.fixture
async def db(sqlite_url: Any) -> Any:
    async with households_app(sqlite_url) as (app, client):
        yield app, client, str(app.state.runtime.settings.database_url)


async def snapshot(app: Any) -> tuple[int, ...]:
    return tuple([await count(app, m) for m in (Household, Member, HouseholdChange, OutboxMessage)])


async def test_a_file_imports_households_sealed_and_published(db: Any, tmp_path: Path) -> None:
    app, client, url = db
    report, errors = await run(url, write(tmp_path / "h.csv", GOOD))
    assert errors == []
    assert (report.households_created, report.members_added, report.rows_failed) == (2, 3, 0)
    async with app.state.sessions() as s:
        members = {m.name: m for m in (await s.scalars(select(Member))).all()}
        events = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()  # type: ignore[arg-type]
    assert members["李桂兰"].disability_grade == 2 and not members["张玉珍"].medical_insured
    assert members["王秀英"].id_masked == f"3715**********{A1[-4:]}"
    assert all(m.id_ciphertext and A1.encode() not in m.id_ciphertext for m in members.values())
    registered = [e for e in events if e.event_type.endswith(".household_registered.v1")]
    assert [json.loads(e.payload)["member_count"] for e in registered] == [2, 1]
    added = [json.loads(e.payload) for e in events if e.event_type.endswith(".member_added.v1")]
    masked = {(a["name_masked"], a["id_masked"]) for a in added}
    assert masked == {
        ("王*英", f"3715**********{A1[-4:]}"),
        ("李*兰", f"3715**********{A2[-4:]}"),
        ("张*珍", f"3715**********{B1[-4:]}"),
    }
    assert not any(number in e.payload for e in events for number in (A1, A2, B1))
    found = await client.post("/v1/households/search", json={"id_number": A2}, headers=OFFICE)
    assert found.json()["household"]["household_code"] == "IM-1"  # the keyed hash matches the API's


async def test_an_imported_household_publishes_what_registering_it_through_the_api_does(
    db: Any, tmp_path: Path
) -> None:
    app, client, url = db
    child_born = date(district_today().year - 10, 5, 1)
    child = {"enrolment": "dropped_out", "school_stage": "primary"}
    disabled = {"disability_type": "physical", "disability_grade": "2", "disability_certified_on": "2015-06-01"}
    imported = [
        row("IM-1", "王秀英", date(1960, 3, 1), A1, **disabled),
        row("IM-1", "王小明", child_born, make_id(child_born, 5), relationship_to_head="son", **child),
    ]
    await run(url, write(tmp_path / "h.csv", imported))
    body = household(
        "API-1",
        VILLAGE,
        member(
            "王秀英",
            "head",
            date(1960, 3, 1),
            seq=11,
            medical_insured=True,
            disability_type="physical",
            disability_grade=2,
            disability_certified_on="2015-06-01",
        ),
        member("王小明", "son", child_born, seq=12, medical_insured=True, **child),
    )
    assert (await client.post("/v1/households", json=body, headers=OFFICE)).status_code == 201
    async with app.state.sessions() as s:
        events = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()  # type: ignore[arg-type]

    def published(code: str) -> list[tuple[str, str]]:
        return sorted(
            (e.event_type.rsplit(".", 2)[-2], json.loads(e.payload).get("code", ""))
            for e in events
            if json.loads(e.payload).get("household_id") in ids[code]
        )

    ids = {
        code: {
            h["id"]
            for h in (await client.get("/v1/households", headers=OFFICE)).json()["items"]
            if h["household_code"] == code
        }
        for code in ("IM-1", "API-1")
    }
    assert published("IM-1") == published("API-1")
    assert ("problem_found", "school_dropout") in published("IM-1")


async def test_running_the_same_file_again_changes_nothing(db: Any, tmp_path: Path) -> None:
    app, _, url = db
    path = write(tmp_path / "h.csv", GOOD)
    await run(url, path)
    before = await snapshot(app)
    report, errors = await run(url, path, chunk=1)
    assert errors == [] and (report.households_created, report.members_added, report.members_present) == (0, 0, 3)
    assert await snapshot(app) == before


async def test_bad_rows_are_reported_by_line_and_the_rest_imported(db: Any, tmp_path: Path) -> None:
    app, _, url = db
    bad_check = B1[:17] + ("0" if B1[17] != "0" else "1")
    rows = [
        GOOD[0],
        row("IM-3", "甲", date(1970, 1, 5), bad_check),  # line 3: check digit
        row("IM-3", "乙", date(2020, 2, 28), make_id(date(2020, 2, 28), 9), birth_date="2020-02-30"),  # 4: no such day
        row("IM-4", "丙", date(1971, 1, 1), make_id(date(1971, 1, 1), 4), area_code="371523999001"),  # 5: unknown area
        row("IM-5", "丁", date(1972, 1, 1), make_id(date(1973, 1, 1), 5)),  # 6: birth date differs from the ID
        row("IM-6", "戊", date(1974, 1, 1), make_id(date(1974, 1, 1), 6), enrolment="graduated"),  # 7: unknown value
        row("IM-7", "己", date(1960, 3, 1), A1),  # 8: A1 belongs to IM-1
        ["IM-8", VILLAGE, "x"],  # 9: too few fields
        row("IM-9", "庚", date(1975, 1, 1), make_id(date(1975, 1, 1), 7), disability_grade="3"),  # 10: grade, no type
        row("IM-10", "辛\x00", date(1976, 1, 1), make_id(date(1976, 1, 1), 8)),  # 11: a NUL (PostgreSQL's COPY fails)
        [""] * len(HEADER),  # 12: a blank row, skipped
        row("IM-11", "壬", date(1977, 1, 1), make_id(date(1977, 1, 1), 9), **CERTIFIED_BEFORE_BIRTH),  # 13
        GOOD[2],
    ]
    report, errors = await run(url, write(tmp_path / "h.csv", rows))
    assert [(e.line, e.field) for e in errors] == [
        (3, "id_number"),
        (4, "birth_date"),
        (5, "area_code"),
        (6, "birth_date"),
        (7, "enrolment"),
        (8, "id_number"),  # found when the chunk is written, reported in file order
        (9, ""),
        (10, "disability_grade"),
        (11, "member_name"),
        (13, "disability_certified_on"),
    ]
    assert report.rows_failed == 10 and report.households_created == 2
    assert not any(bad_check in e.message or A1 in e.message for e in errors)
    assert await count(app, Household) == 2


async def test_worker_processes_prepare_the_same_rows_in_the_same_order(db: Any, tmp_path: Path) -> None:
    app, client, url = db
    rows = [GOOD[0], row("IM-3", "甲", date(1970, 1, 5), "12345"), GOOD[1], GOOD[2]]
    report, errors = await run(url, write(tmp_path / "h.csv", rows), chunk=1, workers=2)
    assert [(e.line, e.field) for e in errors] == [(3, "id_number")]
    assert (report.households_created, report.members_added, report.rows_failed) == (2, 3, 1)
    found = await client.post("/v1/households/search", json={"id_number": B1}, headers=OFFICE)
    assert found.json()["household"]["household_code"] == "IM-2"
    assert await count(app, Member) == 3


@pytest.mark.parametrize(("chunk", "pools"), [(1000, 0), (1, 1)], ids=["one-chunk", "two-chunks"])
async def test_worker_processes_start_only_for_a_file_of_several_chunks(
    db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, pools: int
) -> None:
    started: list[int] = []
    real = importer_module.ProcessPoolExecutor

    def counted(*args: Any, **kwargs: Any) -> Any:
        started.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(importer_module, "ProcessPoolExecutor", counted)
    app, _, url = db
    report, errors = await run(url, write(tmp_path / "h.csv", GOOD), chunk=chunk, workers=2)
    assert errors == [] and (report.households_created, report.members_added) == (2, 3)
    assert len(started) == pools
    assert await count(app, Member) == 3


async def test_a_household_split_across_the_file_gains_its_later_members(db: Any, tmp_path: Path) -> None:
    app, _, url = db
    rows = [GOOD[0], GOOD[2], GOOD[1]]  # IM-1, IM-2, IM-1 again
    report, errors = await run(url, write(tmp_path / "h.csv", rows), chunk=1)
    assert errors == [] and report.households_created == 2 and report.members_added == 3
    async with app.state.sessions() as s:
        types = (await s.scalars(select(OutboxMessage.event_type))).all()
    assert sorted(t.rsplit(".", 2)[-2] for t in types) == [
        "household_registered",
        "household_registered",
        "member_added",  # every member is announced, registered with the household or added to it later
        "member_added",
        "member_added",
        "member_disability_recorded",  # 李桂兰's facts, as registering her through the API publishes them
        "member_medical_coverage_changed",
        "member_medical_coverage_changed",
    ]


async def test_rows_for_a_registered_code_with_another_area_or_head_are_not_added_to_it(
    db: Any, tmp_path: Path
) -> None:
    app, _, url = db
    await run(url, write(tmp_path / "first.csv", [GOOD[0]]))
    moved = row("IM-1", "李桂兰", date(1962, 7, 9), A2, area_code="371523101202", relationship_to_head="spouse")
    renamed = row("IM-1", "李桂兰", date(1962, 7, 9), A2, head_name="别人", relationship_to_head="spouse")
    for n, other in enumerate((moved, renamed)):
        report, errors = await run(url, write(tmp_path / f"{n}.csv", [other]))
        assert [(e.line, e.message) for e in errors] == [(2, NOT_THE_REGISTERED)] and report.members_added == 0
    assert await count(app, Member) == 1


async def test_a_number_registered_through_the_api_is_not_imported_again(db: Any, tmp_path: Path) -> None:
    app, client, url = db
    body = household("API-1", VILLAGE, member("王秀英", "head", date(1960, 3, 1), seq=1))
    assert (await client.post("/v1/households", json=body, headers=OFFICE)).status_code == 201
    _, errors = await run(url, write(tmp_path / "h.csv", GOOD))
    assert [(e.line, e.field) for e in errors] == [(2, "id_number")]
    assert await count(app, Household) == 3  # API-1, IM-1 (with A2 only), IM-2


async def test_files_that_cannot_be_imported_are_refused_whole(db: Any, tmp_path: Path) -> None:
    app, _, url = db
    with pytest.raises(ImportAborted, match="id_number"):
        await run(
            url, write(tmp_path / "h.csv", [r[:-1] for r in GOOD], header=[c for c in HEADER if c != "id_number"])
        )
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(HEADER).encode() + b"\n\xff\xfe broken\n")
    with pytest.raises(ImportAborted, match="UTF-8"):
        await run(url, latin)
    assert await count(app, Household) == 0


async def test_the_cli_reports_progress_and_rejected_rows(
    db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app, _, url = db
    path = write(tmp_path / "h.csv", [*GOOD, row("IM-9", "x", date(1980, 1, 1), "123")])
    report = tmp_path / "errors.csv"
    status = await _cli([str(path), "--database-url", url, "--errors", str(report)])
    assert status == 1
    err = capsys.readouterr().err
    assert "100.0%" in err and "households created 2" in err and "rows rejected 1" in err
    assert list(csv.reader(io.StringIO(report.read_text()))) == [
        ["line", "field", "message"],
        ["5", "id_number", "an ID-card number is 17 digits followed by a digit or X"],
    ]
    assert await _cli([str(path), "--database-url", url, "--quiet", "--errors", str(report)]) == 1
    assert await count(app, Household) == 2
    assert await _cli([str(tmp_path / "missing.csv"), "--database-url", url]) == 2
    with pytest.raises(SystemExit) as refused:
        cli([str(path), "--database-url", url, "--workers", "-1"])
    assert refused.value.code == 2 and "whole number" in capsys.readouterr().err


async def test_rejected_rows_never_share_the_progress_bars_line(
    db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, url = db
    path = write(tmp_path / "h.csv", [*GOOD, row("IM-9", "x", date(1980, 1, 1), "123")])
    assert await _cli([str(path), "--database-url", url]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert any(line.startswith("5,id_number,") for line in lines)  # its own line, not after "…/s"


async def test_errors_name_the_line_a_row_starts_on_after_a_field_that_spans_lines(db: Any, tmp_path: Path) -> None:
    _, _, url = db
    rows = [GOOD[0], row("IM-3", "甲\n乙", date(1970, 1, 5), B1), row("IM-4", "丙", date(1971, 1, 1), "123")]
    _, errors = await run(url, write(tmp_path / "h.csv", rows))  # line 3 spans lines 3-4, so the bad row is on 5
    assert [(e.line, e.field) for e in errors] == [(3, "member_name"), (5, "id_number")]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ([*HEADER, "id_number"], "columns named twice: id_number"),
        ([*HEADER[:-1], "disabilty_type"], "unknown columns: disabilty_type"),  # misspelt: its data would be lost
    ],
)
async def test_a_header_naming_a_column_twice_or_an_unknown_one_is_refused(
    db: Any, tmp_path: Path, header: list[str], message: str
) -> None:
    app, _, url = db
    rows = [[*r, *([""] * (len(header) - len(r)))][: len(header)] for r in GOOD]
    with pytest.raises(ImportAborted, match=message):
        await run(url, write(tmp_path / "h.csv", rows, header=header))
    assert await count(app, Household) == 0


async def test_header_names_are_read_without_surrounding_spaces(db: Any, tmp_path: Path) -> None:
    _, _, url = db
    report, errors = await run(url, write(tmp_path / "h.csv", GOOD, header=[f" {name} " for name in HEADER]))
    assert errors == [] and report.households_created == 2


async def _cli(argv: list[str]) -> int:
    return await asyncio.to_thread(cli, argv)  # the CLI runs its own event loop


def write_xlsx(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    """A workbook as an office keeps one: dates as date cells, the insurance flag as a boolean."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(header)
    for values in rows:
        sheet.append(values)
    workbook.save(path)
    return path


def as_cells(values: list[str]) -> list[Any]:
    cells: list[Any] = list(values)
    born, insured = HEADER.index("birth_date"), HEADER.index("medical_insured")
    cells[born] = date.fromisoformat(values[born])
    cells[insured] = values[insured] == "true"
    return cells


async def test_an_xlsx_workbook_imports_like_the_same_csv(db: Any, tmp_path: Path) -> None:
    app, _, url = db
    bad = as_cells(row("IM-3", "赵凤英", date(1980, 1, 1), "123"))
    report, errors = await run(url, write_xlsx(tmp_path / "h.xlsx", [*map(as_cells, GOOD), bad]))
    assert (report.households_created, report.members_added) == (2, 3)
    assert errors == [RowError(5, "id_number", "an ID-card number is 17 digits followed by a digit or X")]
    async with app.state.sessions() as s:
        members = {m.name: m for m in (await s.scalars(select(Member))).all()}
    assert members["王秀英"].birth_date == date(1960, 3, 1) and not members["张玉珍"].medical_insured
    before = await snapshot(app)
    again, _ = await run(url, write(tmp_path / "h.csv", GOOD))  # the same households as CSV: nothing new
    assert (again.households_created, again.members_added, again.members_present) == (0, 0, 3)
    assert await snapshot(app) == before


async def test_a_file_named_xlsx_that_is_no_workbook_is_refused(db: Any, tmp_path: Path) -> None:
    app, _, url = db
    fake = tmp_path / "h.xlsx"
    fake.write_text(",".join(HEADER))
    with pytest.raises(ImportAborted, match="XLSX"):
        await run(url, fake)
    assert await _cli([str(fake), "--database-url", url]) == 2
    assert await count(app, Household) == 0


@pytest.mark.parametrize(
    ("cell", "text"),
    [(None, ""), (True, "true"), (3.0, "3"), (2.5, "2.5"), (date(2020, 5, 1), "2020-05-01"), ("371523", "371523")],
)
def test_cells_read_as_the_text_a_csv_would_hold(cell: Any, text: str) -> None:
    assert cell_text(cell) == text
    assert cell_text(datetime(2020, 5, 1, 0, 0)) == "2020-05-01"


def test_what_worker_processes_are_started_with_keeps_its_secrets_out_of_reprs() -> None:
    settings = HouseholdsSettings()
    engine = create_engine("postgresql+asyncpg://importer:s3cret-pw@db.internal/households")
    setup = WorkerSetup.of(settings, engine, actor="t", header=HEADER, now=NOW, today=NOW.date())
    shown = repr(setup)
    assert "s3cret-pw" not in shown
    assert settings.idcard_hmac_key.get_secret_value() not in shown
    assert settings.idcard_keys.get_secret_value() not in shown
    assert setup.database_url.endswith("importer:s3cret-pw@db.internal/households")  # the worker still gets it


class RacedWriter(ChunkWriter):
    """A writer that meets a concurrent import: the chunk, then `household` a given number of times."""

    def __init__(self, household: str, conflicts: int) -> None:
        super().__init__("t", now=NOW, today=NOW.date())
        self.household, self.conflicts, self.chunk_raced = household, conflicts, False

    async def write(self, conn: Any, units: Any) -> ChunkResult:
        if not self.chunk_raced:
            self.chunk_raced = True
            raise ChunkConflict
        if [u.code for u in units] == [self.household] and self.conflicts:
            self.conflicts -= 1
            raise ChunkConflict
        return await super().write(conn, units)


def raced_job(url: str, writer: ChunkWriter) -> tuple[ChunkJob, Any]:
    engine = create_engine(url)
    job = WorkerSetup.of(HouseholdsSettings(), engine, actor="t", header=HEADER, now=NOW, today=NOW.date()).job(engine)
    job.writer = writer
    return job, engine


@pytest.mark.parametrize("conflicts", [1, HOUSEHOLD_ATTEMPTS - 1])
async def test_a_household_raced_by_another_import_is_written_at_a_later_attempt(db: Any, conflicts: int) -> None:
    app, _, url = db
    job, engine = raced_job(url, RacedWriter("IM-1", conflicts))
    outcome = await job.run([(n + 2, fields) for n, fields in enumerate(GOOD)])
    await engine.dispose()
    assert outcome.result.errors == [] and outcome.result.households_created == 2
    assert await snapshot(app) == (2, 3, 2, 8)  # two registrations, three members announced, their facts


async def test_a_household_raced_at_every_attempt_is_reported_and_the_rest_written(db: Any) -> None:
    app, _, url = db
    job, engine = raced_job(url, RacedWriter("IM-1", HOUSEHOLD_ATTEMPTS))
    outcome = await job.run([(n + 2, fields) for n, fields in enumerate(GOOD)])
    await engine.dispose()
    assert outcome.result.errors == [RowError(2, "", CONCURRENTLY), RowError(3, "", CONCURRENTLY)]
    assert await snapshot(app) == (1, 1, 1, 2)


class EarlySnapshotWriter(ChunkWriter):
    """A writer whose household look-up ran before another import committed the households."""

    async def _existing_households(self, conn: Any, codes: list[str]) -> dict[str, Any]:
        return {}


async def test_members_of_a_household_committed_meanwhile_are_present_not_registered_elsewhere(
    db: Any, tmp_path: Path
) -> None:
    app, _, url = db
    await run(url, write(tmp_path / "first.csv", GOOD))
    before = await snapshot(app)
    job, engine = raced_job(url, EarlySnapshotWriter("t", now=NOW, today=NOW.date()))
    outcome = await job.run([(n + 2, fields) for n, fields in enumerate(GOOD)])
    await engine.dispose()
    assert outcome.result.errors == []
    assert (outcome.result.members_present, outcome.result.members_added) == (3, 0)
    assert await snapshot(app) == before


def _processes_with(marker: str) -> list[int]:
    """The processes whose environment holds `marker` (the CLI's fork server, workers and resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
    return found


def _wait_until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_killing_the_cli_ends_its_worker_processes(db: Any, tmp_path: Path) -> None:
    _, _, url = db
    rows = [row(f"K-{i}", "张三", date(1960, 3, 1), make_id(date(1960, 3, 1), i + 1)) for i in range(3000)]
    path = write(tmp_path / "h.csv", rows)
    name, value = "IMPORT_KILL_TEST", uuid.uuid4().hex
    marker = f"{name}={value}"
    cli = [sys.executable, "-m", "shared.cli", "import"]
    command = [*cli, str(path), "--database-url", url, "--workers", "2"]
    cli_process = subprocess.Popen(command, env={**os.environ, name: value}, stderr=subprocess.DEVNULL)
    try:  # the fork server and two workers started
        _wait_until(lambda: len(set(_processes_with(marker)) - {cli_process.pid}) >= 3, 60)
    finally:
        cli_process.kill()
        cli_process.wait()
    # Each worker notices within a second and ends; they used to live on, holding their connections.
    _wait_until(lambda: not _processes_with(marker), 15)


SISTER = row("IM-1", "王秀华", date(1960, 3, 1), A1, relationship_to_head="sibling")  # another person, A1 again


@pytest.mark.parametrize(
    ("rows", "chunk", "line"),
    [([GOOD[0], SISTER, GOOD[2]], 1000, 3), ([GOOD[0], SISTER, GOOD[2]], 1, 3), ([GOOD[0], GOOD[2], SISTER], 1000, 4)],
    ids=["one-chunk", "a-chunk-a-household", "household-split-in-the-chunk"],
)
async def test_a_second_row_claiming_a_number_of_its_household_is_rejected_and_a_rerun_rejects_it_again(
    db: Any, tmp_path: Path, rows: list[list[str]], chunk: int, line: int
) -> None:
    app, _, url = db
    path = write(tmp_path / "h.csv", rows)
    report, errors = await run(url, path, chunk=chunk)
    assert [(e.line, e.field) for e in errors] == [(line, "id_number")]  # the first row of the number wins
    assert A1 not in errors[0].message and "another row of this household" in errors[0].message
    assert (report.members_added, report.members_present, report.rows_failed) == (2, 0, 1)
    async with app.state.sessions() as s:
        assert sorted((await s.scalars(select(Member.name))).all()) == ["张玉珍", "王秀英"]
    before = await snapshot(app)
    again, errors_again = await run(url, path, chunk=chunk)  # the stored member is present, the other row still wrong
    assert errors_again == errors
    assert (again.members_added, again.members_present, again.rows_failed) == (0, 2, 1)
    assert await snapshot(app) == before


async def test_the_cli_refuses_a_second_member_with_the_same_number_in_one_household(
    db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app, _, url = db
    path, report = write(tmp_path / "h.csv", [GOOD[0], SISTER]), tmp_path / "errors.csv"
    assert await _cli([str(path), "--database-url", url, "--quiet", "--errors", str(report)]) == 1
    assert "members already present 0, rows rejected 1" in capsys.readouterr().err
    rejected = list(csv.reader(io.StringIO(report.read_text())))[1:]
    assert [r[:2] for r in rejected] == [["3", "id_number"]] and A1 not in report.read_text()
    assert await count(app, Member) == 1


async def test_a_chunk_retried_household_by_household_rejects_a_repeated_number_once_and_counts_nothing_twice(
    db: Any,
) -> None:
    app, _, url = db
    job, engine = raced_job(url, RacedWriter("IM-2", 0))  # the chunk meets a concurrent import once
    outcome = await job.run([(n + 2, fields) for n, fields in enumerate([GOOD[0], GOOD[2], GOOD[1], SISTER])])
    await engine.dispose()
    assert outcome.result.errors == [RowError(5, "id_number", TWICE_IN_HOUSEHOLD)]
    assert (outcome.result.members_added, outcome.result.members_present) == (3, 0)
    assert await count(app, Member) == 3


@pytest.mark.parametrize("command", ["import", "rekey"])
def test_the_household_tools_name_themselves_as_operators_call_them(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as ended:
        poverty([command, "--help"])
    assert ended.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: poverty {command} ") and "python -m" not in out


def test_no_module_under_services_is_a_program() -> None:
    """Operators run the households tools as `poverty import` and `poverty rekey`, not `python -m`."""
    programs = [
        path.relative_to(SERVICES.parent).as_posix()
        for path in sorted(SERVICES.rglob("*.py"))
        if path.name == "__main__.py" or re.search(r"^if __name__ == .__main__.:", path.read_text(), re.MULTILINE)
    ]
    assert programs == []


def test_the_import_gets_its_outbox_rows_from_the_services_events_module() -> None:
    """`services/households/events.py` is the one place the service turns events into outbox rows: the import's
    bulk rows too (`outbox_rows`), so they carry the service's source like every event it publishes."""
    makers = {"outbox_row", "record_event"}
    found = []
    for path in sorted((SERVICES / "households").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and makers & {alias.name for alias in node.names}:
                found.append(path.relative_to(SERVICES).as_posix())
    assert found == ["households/events.py"]
