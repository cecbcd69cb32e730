"""`/docs` works on a network without internet: every asset it loads is served by the service."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest

from tests.support import running_app

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
OFF_MACHINE = re.compile(r"https?://|//")


@pytest.mark.parametrize("page", ["/docs"])
async def test_api_documents_load_nothing_from_off_the_machine(
    page: str, sqlite_url: Callable[[str], Awaitable[str]]
) -> None:
    async with running_app("projects", await sqlite_url("projects")) as (_, client):
        html = (await client.get(page)).text
        assets = ASSET.findall(html)
        assert assets, "the page loads its script from somewhere"
        for asset in assets:
            assert not OFF_MACHINE.match(asset), f"{page} loads {asset} from off the machine"
            assert (await client.get(asset)).status_code == 200, asset
        assert "fonts.googleapis" not in html
        if page == "/docs":
            # Swagger UI would send the document to validator.swagger.io for its badge.
            assert '"validatorUrl": null' in html


async def test_the_document_the_pages_load_is_served(sqlite_url: Callable[[str], Awaitable[str]]) -> None:
    async with running_app("projects", await sqlite_url("projects")) as (_, client):
        response = await client.get("/openapi.json")
    assert response.status_code == 200 and response.json()["openapi"].startswith("3.")


async def test_redoc_whose_bundle_loads_a_cdn_logo_is_not_served(sqlite_url: Callable[[str], Awaitable[str]]) -> None:
    async with running_app("projects", await sqlite_url("projects")) as (_, client):
        assert (await client.get("/redoc")).status_code == 404
