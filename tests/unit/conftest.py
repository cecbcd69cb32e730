"""Unit-tier fixtures: a migrated SQLite file per test, no Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support import migrate

AppFactory = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> AsyncIterator[Callable[[str], Any]]:
    async def make(service: str) -> str:
        url = f"sqlite+aiosqlite:///{tmp_path / service}.db"
        await migrate(service, url)
        return url

    yield make
