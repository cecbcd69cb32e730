"""Rotating the ID-card keys: re-encrypting under a new key id, recomputing keyed hashes with a new HMAC key."""

from __future__ import annotations

import asyncio
import base64
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from services.households.domain import rekey
from services.households.models import Member
from services.households.settings import DEV_IDCARD_KEYS
from tests.support import running_app
from tests.unit.test_households_conflicts import CADRE_ID, holder, relative
from tests.unit.test_households_helpers import OFFICE, VILLAGE, household, make_id, member, register

BORN = date(1960, 3, 1)
NUMBER = make_id(BORN, 1)
ROTATED = {"idcard_keys": f"{DEV_IDCARD_KEYS},k2:{base64.b64encode(b'k' * 32).decode()}", "idcard_active_kid": "k2"}
NEW_HMAC = base64.b64encode(b"n" * 32).decode()
REASON = {"reason": "核对轮换后的密文"}


async def reveal(client: Any, hid: str) -> str:
    mid = (await client.get(f"/v1/households/{hid}", headers=OFFICE)).json()["members"][0]["id"]
    r = await client.post(f"/v1/households/{hid}/members/{mid}/id-number/reveal", json=REASON, headers=OFFICE)
    assert r.status_code == 200, r.text
    return str(r.json()["id_number"])


async def kids(app: Any) -> list[str | None]:
    async with app.state.sessions() as s:
        return list((await s.scalars(select(Member.id_kid))).all())


async def test_rotation_reencrypts_then_rehashes(sqlite_url: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = await sqlite_url("households")
    async with running_app("households", url) as (_, client):
        hid = (await register(client, household("RK-1", VILLAGE, member("张三", "head", BORN, seq=1))))["id"]
    for key, value in ROTATED.items():
        monkeypatch.setenv(f"HOUSEHOLDS_{key.upper()}", value)
    assert "re-encrypted 1 " in await rekey.run(url, rehash_too=False)
    assert "re-encrypted 0 " in await rekey.run(url, rehash_too=False)  # nothing left under the old key
    async with running_app("households", url, **ROTATED) as (app, client):
        assert await kids(app) == ["k2"]
        assert await reveal(client, hid) == NUMBER
    monkeypatch.setenv(rekey.NEW_HMAC_ENV, NEW_HMAC)
    assert "rehashed 1 " in await rekey.run(url, rehash_too=True)
    async with running_app("households", url, **ROTATED, idcard_hmac_key=NEW_HMAC) as (_, client):
        found = await client.post("/v1/households/search", json={"id_number": NUMBER}, headers=OFFICE)
        assert found.json()["household"]["id"] == hid
    async with running_app("households", url, **ROTATED) as (_, client):  # the old HMAC key finds nothing now
        missed = await client.post("/v1/households/search", json={"id_number": NUMBER}, headers=OFFICE)
        assert missed.json() == {"household": None}


async def test_rehash_needs_the_new_key_in_the_environment(sqlite_url: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(rekey.NEW_HMAC_ENV, raising=False)
    with pytest.raises(SystemExit, match=rekey.NEW_HMAC_ENV):
        await rekey.run(await sqlite_url("households"), rehash_too=True)


@pytest.mark.parametrize("known", ["holder", "relative"])
async def test_rehash_changes_nothing_while_numbers_are_known_only_by_their_hash(
    sqlite_url: Any, monkeypatch: pytest.MonkeyPatch, known: str
) -> None:
    url = await sqlite_url("households")
    async with running_app("households", url) as (app, client):
        await register(client, household("RK-2", VILLAGE, member("张三", "head", BORN, seq=1)))
        cadre = await holder(client, id_number=CADRE_ID if known == "holder" else None)
        if known == "relative":
            await relative(client, cadre["id"])
        before = await hashes(app)
    monkeypatch.setenv(rekey.NEW_HMAC_ENV, NEW_HMAC)
    with pytest.raises(rekey.RowsLeft, match=r"nothing rehashed: .* a new key cannot recompute"):
        await rekey.run(url, rehash_too=True)
    async with running_app("households", url) as (app, client):
        assert await hashes(app) == before
    assert await asyncio.to_thread(rekey.main, ["--database-url", url, "--rehash"]) == 1  # its exit status


async def hashes(app: Any) -> list[str | None]:
    async with app.state.sessions() as s:
        return list((await s.scalars(select(Member.id_hash))).all())
