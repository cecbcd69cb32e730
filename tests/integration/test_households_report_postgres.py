"""The register's part of the half-year report on real PostgreSQL: the same definitions as on SQLite (the grouped
counts, the latest appraisal and water check by window function, the area prefix and the township's code)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import pytest

from tests.support import auth, running_app
from tests.unit.test_households_report import (
    LINE_2020,
    OTHER_TOWNSHIP,
    TOWNSHIP,
    appraise,
    district,
    figure,
    post,
    renovate,
    report,
    visit,
    water,
)

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]


async def test_every_figure_is_counted_as_on_sqlite(pg_database: MakeDb) -> None:
    async with running_app("households", await pg_database("households")) as (app, client):
        ids = await district(app, client)
        b = ids["B"]
        await client.put("/v1/poverty-lines/2020", json=LINE_2020, headers=auth("district_office"))
        await post(
            client, f"/v1/households/{b}/income-records", {"year": 2020, "source": "wages", "amount_fen": 700_000}
        )
        await appraise(client, b, "B", "2020-02-01")
        await water(client, b, "2020-02-01")
        await post(client, f"/v1/households/{b}/status", {"status": "exited_receiving_policies", "reason": "达标"}, 200)
        await visit(client, ids["A"], 1, "2020-04-01")
        await visit(client, ids["A"], 2, "2020-05-12", housing_grade="D")
        await visit(client, b, 1, "2019-12-31")
        await visit(client, b, 2, "2020-06-30")
        await water(client, ids["A"], "2020-04-01", "excess_fluoride")
        d_c = await appraise(client, ids["D"], "C", "2020-03-01")
        await renovate(client, ids["D"], d_c, "2020-07-05")
        flag = {"kind": "disaster", "detail": "暴雨冲毁院墙", "raised_on": "2020-06-01"}
        await post(client, f"/v1/households/{ids['D']}/risk-flags", flag)

        part = await report(client)
        assert figure(part, "register.households") == 3
        assert figure(part, "register.households", status="exited_receiving_policies") == 1
        assert figure(part, "register.households", township=TOWNSHIP) == 2
        assert figure(part, "register.households", township=OTHER_TOWNSHIP) == 1
        assert figure(part, "register.people") == 6
        assert (figure(part, "visits.households", round="1"), figure(part, "visits.households", round="2")) == (1, 2)
        assert figure(part, "visits.coverage", round="2") == 6666
        assert [figure(part, "housing.appraised", grade=g) for g in "CD"] == [1, 1]
        assert [figure(part, "housing.outstanding", grade=g) for g in "CD"] == [1, 1]
        assert (figure(part, "water.checked"), figure(part, "water.unsafe")) == (2, 1)
        assert (figure(part, "monitoring.households"), figure(part, "monitoring.opened")) == (1, 1)
        assert figure(part, "schooling.dropped_out", stage="junior_secondary") == 1
        assert figure(part, "disability.people", grade="1") == 1
        assert figure(part, "income.per_capita_average", year="2020") == 700_000
        assert figure(part, "register.households") == figure(
            await report(client, f"&area_code={TOWNSHIP[:6]}"), "register.households"
        )
        assert date.fromisoformat(part["period_to"]) == date(2020, 6, 30)
