"""Audit's part of the half-year report on real PostgreSQL: the same definitions as on SQLite (the origin's CASE,
the district calendar's day boundaries on timestamps with time zone, the township's code)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.support import running_app
from tests.unit.test_audit_report import district, figure, report
from tests.unit.test_audit_support import OTHER_TOWNSHIP, TOWNSHIP

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]


async def test_every_figure_is_counted_as_on_sqlite(pg_database: MakeDb) -> None:
    async with running_app("audit", await pg_database("audit")) as (app, client):
        await district(app, client)
        part = await report(client)
        assert figure(part, "findings.found") == 5
        assert [figure(part, "findings.found", origin=o) for o in ("household", "project", "inspector")] == [3, 1, 1]
        assert figure(part, "findings.found", township=TOWNSHIP) == 4
        assert figure(part, "findings.rectified", township=OTHER_TOWNSHIP) == 1
        assert (figure(part, "findings.open"), figure(part, "findings.overdue")) == (5, 4)
        assert figure(part, "findings.rectification_rate") == 2000
        assert figure(part, "tasks.reopened") == 1
        assert figure(part, "referrals.made") == 2
        assert figure(part, "accountability.decisions", kind="talk") == 1
