"""A request valid by a service's OpenAPI document gets past its input validation: the document states the
real rules (formats, patterns, lengths, enums, required combinations), so clients generated from it work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from shared.auth import AREA_SCOPED, Role
from shared.personal_data import check_digit
from shared.service_index import SERVICES
from tests.api_fuzz import generated_cases, refusals
from tests.support import auth, running_app

EXAMPLES_PER_OPERATION = 6
FIRST_17 = "37152319600101001"
SAMPLES = {"id_number": FIRST_17 + check_digit(FIRST_17)}
EVERY_DISTRICT_ROLE = auth(*(r.value for r in Role if r not in AREA_SCOPED), sub="integrator")


@pytest.mark.parametrize("service", SERVICES)
async def test_requests_valid_by_the_document_pass_validation(
    service: str, sqlite_url: Callable[[str], Awaitable[str]]
) -> None:
    async with running_app(service, await sqlite_url(service)) as (app, client):
        cases = generated_cases(app.openapi(), EXAMPLES_PER_OPERATION)
        refused = await refusals(client, cases, EVERY_DISTRICT_ROLE, SAMPLES)
    assert not refused, f"{len(refused)} valid requests refused:\n" + "\n".join(refused[:25])
