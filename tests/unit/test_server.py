"""The HTTP server every service runs in: uvicorn with a one-second tick."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.local.kafka import free_port
from shared.server import STARTUP_FAILURE, Server, serve, server_config


async def test_each_tick_refreshes_the_date_header_and_a_shutdown_request_ends_the_loop() -> None:
    config = server_config(FastAPI(), host="127.0.0.1", port=free_port())
    config.load()
    server = Server(config)
    server.tick_s = 0.01
    seen: list[int] = []
    uvicorns_tick = server.on_tick

    async def on_tick(counter: int) -> bool:
        seen.append(counter)
        if len(seen) == 3:
            server.should_exit = True
        return await uvicorns_tick(counter)

    server.on_tick = on_tick  # type: ignore[method-assign]
    await asyncio.wait_for(server.main_loop(), timeout=5)
    assert seen == [0, 10, 20]  # uvicorn's tenths: a multiple of ten refreshes the Date header
    assert [name for name, _ in server.server_state.default_headers] == [b"date"]  # no `server: uvicorn`


def test_an_app_that_cannot_start_exits_with_uvicorns_startup_failure_status() -> None:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("database unreachable")
        yield

    try:
        status = serve(FastAPI(lifespan=lifespan), host="127.0.0.1", port=free_port())
    except SystemExit as exited:  # uvicorn exits from inside when the app's start-up fails
        status = exited.code
    assert status == STARTUP_FAILURE
