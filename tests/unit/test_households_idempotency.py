"""Every create of the households service can be retried with an `Idempotency-Key`: the retry answers 200 with the
first result and records nothing again, the key with another body is a 409, and without a key nothing changed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest

from services.households.models import (
    HelperCadre,
    Household,
    HousingAppraisal,
    IncomeRecord,
    Member,
    MonitoringMeasure,
    RiskFlag,
    Visit,
    WaterCheck,
)
from shared.messaging.outbox import OutboxMessage
from tests.support import assert_problem
from tests.unit.test_households_helpers import OFFICE, VILLAGE, count, household, households_app, member, register

Body = dict[str, Any]


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with households_app(sqlite_url) as running:
        yield running


async def created(client: Any, url: str, body: Body) -> Body:
    r = await client.post(url, json=body, headers=OFFICE)
    assert r.status_code == 201, r.text
    result: Body = r.json()
    return result


async def a_household(client: Any) -> str:
    hid: str = (await register(client, household("ID-0", VILLAGE, member("张三", "head", date(1960, 3, 1), seq=1))))[
        "id"
    ]
    return hid


async def an_unsafe_house(client: Any) -> str:
    hid = await a_household(client)
    body = {"grade": "D", "appraised_on": "2020-03-01", "appraiser": "区住建局"}
    d = await created(client, f"/v1/households/{hid}/housing-appraisals", body)
    return f"/v1/households/{hid}/housing-appraisals/{d['id']}/renovation"


async def an_open_episode(client: Any) -> str:
    hid = await a_household(client)
    flag = {"kind": "disaster", "detail": "冰雹", "raised_on": "2020-05-01"}
    episode = await created(client, f"/v1/households/{hid}/risk-flags", flag)
    return f"/v1/monitoring-episodes/{episode['id']}/measures"


async def of_household(client: Any, path: str) -> str:
    return f"/v1/households/{await a_household(client)}/{path}"


async def fixed(url: str) -> str:
    return url


Setup = Callable[[Any], Awaitable[str]]
# (where, what it records, a body, another body, the status of the other body sent without a key)
CREATES: dict[str, tuple[Setup, Any, Body, Body, int]] = {
    "household": (
        lambda _: fixed("/v1/households"),
        Household,
        household("ID-1", VILLAGE, member("李四", "head", date(1962, 7, 9), seq=2)),
        household("ID-2", VILLAGE, member("王五", "head", date(1963, 8, 1), seq=3)),
        201,
    ),
    "member": (
        lambda c: of_household(c, "members"),
        Member,
        member("李四", "spouse", date(1962, 7, 9), seq=2),
        member("张小明", "son", date(2010, 5, 1)),
        201,
    ),
    "visit": (
        lambda c: of_household(c, "visits"),
        Visit,
        {"round": 1, "visited_on": "2020-05-01", "visitor": "王五"},
        {"round": 1, "visited_on": "2020-05-02", "visitor": "王五"},
        201,
    ),
    "appraisal": (
        lambda c: of_household(c, "housing-appraisals"),
        HousingAppraisal,
        {"grade": "C", "appraised_on": "2020-03-01", "appraiser": "区住建局"},
        {"grade": "B", "appraised_on": "2020-03-02", "appraiser": "区住建局"},
        201,
    ),
    "renovation": (
        an_unsafe_house,
        HousingAppraisal,
        {"completed_on": "2020-06-01", "grade": "A", "appraiser": "区住建局"},
        {"completed_on": "2020-06-01", "grade": "B", "appraiser": "区住建局"},
        409,  # the house the first request renovated is not renovated twice
    ),
    "water check": (
        lambda c: of_household(c, "water-checks"),
        WaterCheck,
        {"checked_on": "2020-04-01", "source": "well", "problems": ["excess_fluoride"], "checked_by": "区水利局"},
        {"checked_on": "2020-04-02", "source": "well", "checked_by": "区水利局"},
        201,
    ),
    "income": (
        lambda c: of_household(c, "income-records"),
        IncomeRecord,
        {"year": 2020, "source": "wages", "amount_fen": 300_000},
        {"year": 2020, "source": "wages", "amount_fen": 300_001},
        201,
    ),
    "helper cadre": (
        lambda _: fixed("/v1/helper-cadres"),
        HelperCadre,
        {"subject": "cadre-a", "name": "王帮扶", "unit": "区财政局", "area_code": "371523101"},
        {"subject": "cadre-b", "name": "王帮扶", "unit": "区财政局", "area_code": "371523101"},
        201,
    ),
    "risk flag": (
        lambda c: of_household(c, "risk-flags"),
        RiskFlag,
        {"kind": "disaster", "detail": "冰雹", "raised_on": "2020-05-01"},
        {"kind": "job_loss", "detail": "失业", "raised_on": "2020-05-01"},
        201,
    ),
    "measure": (
        an_open_episode,
        MonitoringMeasure,
        {"kind": "temporary_assistance", "description": "临时救助", "taken_on": "2020-05-02"},
        {"kind": "employment", "description": "就业帮扶", "taken_on": "2020-05-02"},
        201,
    ),
}


@pytest.mark.parametrize("name", CREATES)
async def test_a_retried_create_answers_the_first_result_and_records_nothing(api: Any, name: str) -> None:
    app, client = api
    setup, model, body, other, without_key = CREATES[name]
    url = await setup(client)
    keyed = {**OFFICE, "Idempotency-Key": f"{name.replace(' ', '-')}-1"}
    first = await client.post(url, json=body, headers=keyed)
    assert first.status_code == 201, first.text
    assert "idempotency-replayed" not in first.headers
    rows, events = await count(app, model), await count(app, OutboxMessage)
    again = await client.post(url, json=body, headers=keyed)
    assert again.status_code == 200 and again.headers["idempotency-replayed"] == "true"
    assert again.json() == first.json()
    assert_problem(await client.post(url, json=other, headers=keyed), 409)
    assert (await count(app, model), await count(app, OutboxMessage)) == (rows, events)
    assert (await client.post(url, json=other, headers=OFFICE)).status_code == without_key


async def test_a_retried_registration_with_another_id_number_is_another_request(api: Any) -> None:
    """A body shows an ID-card number masked: the key remembers the number by its keyed hash."""
    app, client = api
    keyed = {**OFFICE, "Idempotency-Key": "register-1"}
    first = household("ID-1", VILLAGE, member("李四", "head", date(1962, 7, 9), seq=2))
    assert (await client.post("/v1/households", json=first, headers=keyed)).status_code == 201
    renumbered = household("ID-1", VILLAGE, member("李四", "head", date(1962, 7, 9), seq=3))
    assert_problem(await client.post("/v1/households", json=renumbered, headers=keyed), 409)
    assert await count(app, Household) == 1
