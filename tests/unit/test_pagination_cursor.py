"""A cursor's timestamp is checked when the cursor is read: one with no UTC time is the usual 422 for a bad
cursor, never a 500 when the database binds it."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.api.pagination import datetime_key, encode_cursor, parse_cursor, uuid_key
from shared.errors import InvalidInput
from tests.support import assert_problem, auth, running_app


def forged(stamp: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([stamp, str(uuid.uuid4())]).encode()).decode()


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-05:00", "2020-06-01T10:00:00"])
def test_a_time_with_no_utc_time_or_no_zone_is_a_bad_cursor(stamp: str) -> None:
    with pytest.raises(InvalidInput):
        parse_cursor(forged(stamp), datetime_key, uuid_key)


def test_a_good_cursors_time_is_the_same_instant_in_utc() -> None:
    at = datetime.fromisoformat("2020-06-01T10:00:00+08:00")
    key = parse_cursor(encode_cursor([at.isoformat(), str(uuid.UUID(int=1))]), datetime_key, uuid_key)
    assert key[0] == at and key[0].tzinfo == UTC


async def test_a_list_refuses_a_forged_cursor_with_422(sqlite_url: Any) -> None:
    async with running_app("audit", await sqlite_url("audit")) as (_, client):
        for path in ("/v1/findings", "/v1/notifications"):
            params = {"cursor": forged("0001-01-01T00:00:00+14:00")}
            assert_problem(await client.get(path, params=params, headers=auth("district_office")), 422)
