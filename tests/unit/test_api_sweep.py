"""Every operation of every service, called with hostile input on SQLite: never a 5xx, every 4xx a problem."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from shared.auth import AREA_SCOPED, Role
from shared.personal_data import check_digit
from tests.api_sweep import Sweep, sweep
from tests.support import auth, running_app

SERVICES = ("households", "projects", "subsidies", "audit")
FIRST_17 = "37152319600101001"
# Values a schema cannot say: they let the plausible calls pass the domain's own checks and create what the
# hostile calls then reach.
SAMPLES = {
    "id_number": FIRST_17 + check_digit(FIRST_17),
    "birth_date": "1960-01-01",
    "period": "2020-05",
    "code": "housing_unsafe",
    "week": "2020-W20",
    "scope_code": "371523",
    "subject_kind": "household",
    "subject_id": "6f1c0d52-3c4e-4d8a-9a7e-2f5d8c1b0a93",
    "policy_code": "dibao",
    "id_masked": "3715**********1234",
    "checksum": "0" * 64,
}
EVERY_DISTRICT_ROLE = auth(*(r.value for r in Role if r not in AREA_SCOPED), sub="sweeper")


@pytest.mark.parametrize("service", SERVICES)
async def test_no_input_makes_a_service_fail(service: str, sqlite_url: Callable[[str], Awaitable[str]]) -> None:
    async with running_app(service, await sqlite_url(service)) as (app, client):
        failures = await sweep(client, Sweep(app.openapi(), SAMPLES), EVERY_DISTRICT_ROLE)
    assert not failures, "\n".join(failures[:20])
