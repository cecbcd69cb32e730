"""Unit-tier fixtures: a migrated SQLite file per test (copied from one migrated template), no Kafka."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.support import migrate


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {}


@pytest.fixture
def sqlite_url(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, _templates: dict[str, Path]
) -> Callable[[str], Awaitable[str]]:
    """Factory: the URL of a fresh, migrated SQLite database for a service."""

    async def make(service: str) -> str:
        if service not in _templates:
            template = tmp_path_factory.mktemp("templates") / f"{service}.db"
            await migrate(service, f"sqlite+aiosqlite:///{template}")
            _templates[service] = template
        target = tmp_path / f"{service}.db"
        shutil.copyfile(_templates[service], target)
        return f"sqlite+aiosqlite:///{target}"

    return make
