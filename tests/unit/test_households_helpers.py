"""Helpers for the households tests (valid ID-card numbers, a running app, counting rows), and their own checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from sqlalchemy import func, select

from services.households.rules.idcard import normalize_id_number
from shared.messaging.outbox import OutboxMessage
from shared.personal_data import check_digit
from tests.support import auth, running_app

VILLAGE = "371523101201"  # a village of 贾寨镇
OTHER_VILLAGE = "371523101202"
OTHER_TOWNSHIP_VILLAGE = "371523105203"  # a village of 温陈街道
OFFICE = auth("district_office")


def make_id(born: date = date(1960, 3, 1), seq: int = 1, region: str = "371523") -> str:
    """A valid 18-character ID-card number for a birth date (sequence digits make it unique)."""
    first17 = f"{region}{born:%Y%m%d}{seq % 1000:03d}"
    return first17 + check_digit(first17)


def member(name: str, relationship: str, born: date, seq: int | None = None, **facts: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "relationship_to_head": relationship, "birth_date": born.isoformat()}
    if seq is not None:
        body["id_number"] = make_id(born, seq)
    return {**body, **facts}


def household(code: str, area: str = VILLAGE, *members: dict[str, Any]) -> dict[str, Any]:
    return {
        "household_code": code,
        "area_code": area,
        "head_name": "张三",
        "members": list(members) or [member("张三", "head", date(1960, 3, 1), seq=1)],
    }


@asynccontextmanager
async def households_app(sqlite_url: Any, **overrides: Any) -> AsyncIterator[tuple[Any, Any]]:
    async with running_app("households", await sqlite_url("households"), **overrides) as (app, client):
        yield app, client


async def count(app: Any, model: Any, *where: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def outbox(app: Any) -> list[OutboxMessage]:
    async with app.state.sessions() as s:
        return list((await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())  # type: ignore[arg-type]


async def event_types(app: Any) -> list[str]:
    return [row.event_type for row in await outbox(app)]


async def register(client: Any, body: dict[str, Any], headers: dict[str, str] = OFFICE) -> dict[str, Any]:
    r = await client.post("/v1/households", json=body, headers=headers)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def test_made_ids_are_valid_and_distinct() -> None:
    numbers = {make_id(date(1990, 1, d), d) for d in range(1, 29)}
    assert len(numbers) == 28
    assert all(normalize_id_number(n) == n for n in numbers)


def test_member_body_carries_the_id_only_when_asked() -> None:
    assert "id_number" not in member("李四", "spouse", date(1962, 7, 9))
    assert member("李四", "spouse", date(1962, 7, 9), seq=4)["id_number"] == make_id(date(1962, 7, 9), 4)
