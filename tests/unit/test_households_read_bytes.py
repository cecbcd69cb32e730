"""The household read and the list page answer, byte for byte, what reading ORM objects through the response models
answers (the routes' way before they read plain rows): fields, order, types, masked ID numbers, cursors, area and
assignment scope, and the problems for a household missing or beyond reach.

`check_reads_byte_for_byte` runs the same scenario on SQLite here and on PostgreSQL in
tests/integration/test_households_reads_postgres.py."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlmodel import col

from services.households.models import Household, Member
from services.households.rules.idcard import mask
from services.households.schemas.households import HouseholdRead, MemberRead
from shared.api.pagination import Page, encode_cursor
from tests.support import assert_problem, auth
from tests.unit.test_households_helpers import (
    OFFICE,
    OTHER_TOWNSHIP_VILLAGE,
    OTHER_VILLAGE,
    VILLAGE,
    households_app,
    make_id,
    member,
    register,
)

TOWNSHIP = VILLAGE[:9]
_ONE = TypeAdapter(HouseholdRead)
_PAGE = TypeAdapter(Page[HouseholdRead])


async def reference(app: Any, household_id: str) -> HouseholdRead:
    """The body as the ORM objects and the response models give it: every field read from the mapped objects."""
    async with app.state.sessions() as session:
        household = await session.get(Household, UUID(household_id))
        assert household is not None
        members = await session.scalars(
            select(Member)
            .where(col(Member.household_id) == household.id)
            .order_by(col(Member.birth_date), col(Member.id))
        )
        fields = {f: getattr(household, f) for f in HouseholdRead.model_fields if f != "members"}
        bodies = [
            MemberRead.model_validate(
                {f: getattr(m, "id_masked" if f == "id_number_masked" else f) for f in MemberRead.model_fields}
            )
            for m in members
        ]
    return HouseholdRead.model_validate({**fields, "members": bodies})


async def expected_page(app: Any, ids: list[str], next_code: str | None) -> bytes:
    items = [await reference(app, i) for i in ids]
    cursor = encode_cursor([next_code]) if next_code else None
    return _PAGE.dump_json(Page[HouseholdRead](items=items, next_cursor=cursor))


async def district(client: Any) -> dict[str, str]:
    """Five households: members with and without ID numbers and with every kind of fact, a death, a helper cadre,
    a housing grade and a water check."""
    born = [date(1958, 2, 3), date(1961, 7, 9), date(2012, 5, 1), date(1990, 11, 30)]
    bodies = {
        "RB-1": (
            VILLAGE,
            [
                member("王秀英", "head", born[0], seq=11, medical_insured=True, labour_capacity="able"),
                member(
                    "李四",
                    "spouse",
                    born[1],
                    seq=12,
                    disability_type="physical",
                    disability_grade=2,
                    disability_certified_on="2019-03-01",
                    chronic_disease="高血压",
                    chronic_disease_approved_on="2019-04-02",
                    medical_insured=True,
                    premium_subsidised=True,
                    family_doctor_contract=True,
                ),
                member("王小明", "son", born[2], school_stage="primary", school_name="贾寨小学", enrolment="enrolled"),
            ],
        ),
        "RB-2": (VILLAGE, [member("赵六", "head", born[3], seq=21, medical_insured=True)]),
        "RB-3": (OTHER_VILLAGE, [member("孙七", "head", born[0], seq=31)]),
        "RB-4": (
            OTHER_TOWNSHIP_VILLAGE,
            [member("周八", "head", born[1], seq=41), member("吴九", "daughter", born[2])],
        ),
        "RB-5": (VILLAGE, [member("郑十", "head", born[3])]),
    }
    ids = {}
    for code, (area, members) in bodies.items():
        ids[code] = (
            await register(client, {"household_code": code, "area_code": area, "head_name": "户主", "members": members})
        )["id"]
    one = (await client.get(f"/v1/households/{ids['RB-1']}", headers=OFFICE)).json()
    spouse = next(m["id"] for m in one["members"] if m["relationship_to_head"] == "spouse")
    death = {"died_on": "2020-06-03", "source": "公安户籍注销"}
    assert (
        await client.post(f"/v1/households/{ids['RB-1']}/members/{spouse}/death", json=death, headers=OFFICE)
    ).is_success
    visit = {"round": 1, "visited_on": "2020-05-12", "visitor": "王帮扶", "housing_grade": "C"}
    assert (await client.post(f"/v1/households/{ids['RB-2']}/visits", json=visit, headers=OFFICE)).is_success
    water = {"checked_on": "2020-04-01", "source": "piped", "checked_by": "水务局"}
    assert (await client.post(f"/v1/households/{ids['RB-2']}/water-checks", json=water, headers=OFFICE)).is_success
    cadre = {"subject": "cadre-a", "name": "赵帮扶", "unit": "区财政局", "area_code": TOWNSHIP}
    cadre_id = (await client.post("/v1/helper-cadres", json=cadre, headers=OFFICE)).json()["id"]
    assigned = {"helper_cadre_id": cadre_id}
    assert (await client.put(f"/v1/households/{ids['RB-2']}/helper-cadre", json=assigned, headers=OFFICE)).is_success
    return ids


async def check_reads_byte_for_byte(app: Any, client: Any) -> None:
    ids = await district(client)
    for hid in ids.values():
        r = await client.get(f"/v1/households/{hid}", headers=OFFICE)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.content == _ONE.dump_json(await reference(app, hid))
        assert int(r.headers["content-length"]) == len(r.content)
    one = (await client.get(f"/v1/households/{ids['RB-1']}", headers=OFFICE)).json()
    numbers = [make_id(date(1958, 2, 3), 11), make_id(date(1961, 7, 9), 12)]
    assert [m["id_number_masked"] for m in one["members"]] == [*map(mask, numbers), None]
    listed = (await client.get("/v1/households?limit=500", headers=OFFICE)).text
    assert not any(n in listed for n in numbers)

    async def page(query: str, headers: dict[str, str], codes: list[str], next_code: str | None) -> str | None:
        r = await client.get(f"/v1/households{query}", headers=headers)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.content == await expected_page(app, [ids[c] for c in codes], next_code), query
        cursor: str | None = r.json()["next_cursor"]
        return cursor

    cursor = await page("?limit=2", OFFICE, ["RB-1", "RB-2"], "RB-2")
    cursor = await page(f"?limit=2&cursor={cursor}", OFFICE, ["RB-3", "RB-4"], "RB-4")
    await page(f"?limit=2&cursor={cursor}", OFFICE, ["RB-5"], None)
    await page(f"?area_code={VILLAGE}", OFFICE, ["RB-1", "RB-2", "RB-5"], None)
    await page(f"?area_code={OTHER_VILLAGE}", OFFICE, ["RB-3"], None)  # the same statement, another value
    await page("?gap=housing&limit=1", OFFICE, ["RB-1"], "RB-1")
    await page("?gap=water", OFFICE, ["RB-1", "RB-3", "RB-4", "RB-5"], None)
    await page("?policy=disability", OFFICE, [], None)  # the disabled member's death is recorded
    await page("?policy=student", OFFICE, ["RB-1"], None)
    await page("?gap=medical&status=in_poverty", OFFICE, ["RB-1", "RB-3", "RB-4", "RB-5"], None)
    township = auth("township_office", area=TOWNSHIP)
    await page("", township, ["RB-1", "RB-2", "RB-3", "RB-5"], None)
    assert_problem(await client.get(f"/v1/households?area_code={OTHER_TOWNSHIP_VILLAGE}", headers=township), 403)
    other_cadre = auth("helper_cadre", area=TOWNSHIP, sub="cadre-b")
    await page("", other_cadre, ["RB-1", "RB-3", "RB-5"], None)
    mine = auth("helper_cadre", area=VILLAGE, sub="cadre-a")
    await page("?limit=1", mine, ["RB-1"], "RB-1")
    await page("", auth("helper_cadre", area=TOWNSHIP, sub="cadre-a"), ["RB-1", "RB-2", "RB-3", "RB-5"], None)
    await page("", auth("township_office", area=OTHER_TOWNSHIP_VILLAGE[:9]), ["RB-4"], None)
    r = await client.get(f"/v1/households/{ids['RB-2']}", headers=mine)
    assert r.content == _ONE.dump_json(await reference(app, ids["RB-2"]))

    assert_problem(await client.get(f"/v1/households/{ids['RB-2']}", headers=other_cadre), 403)
    assert_problem(await client.get(f"/v1/households/{ids['RB-4']}", headers=township), 403)
    missing = assert_problem(await client.get(f"/v1/households/{UUID(int=7)}", headers=OFFICE), 404)
    assert missing["detail"] == "No household has this id."
    assert_problem(await client.get(f"/v1/households/{ids['RB-1']}", headers=auth("dept_health")), 403)
    assert_problem(await client.get("/v1/households/not-a-uuid", headers=OFFICE), 422)
    assert_problem(await client.get(f"/v1/households/{ids['RB-1']}"), 401)


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with households_app(sqlite_url) as running:
        yield running


async def test_reads_answer_what_the_response_models_answer_byte_for_byte(api: Any) -> None:
    await check_reads_byte_for_byte(*api)
