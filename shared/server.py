"""The HTTP server a service runs in: uvicorn, waking once a second when idle instead of ten times."""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn
from fastapi import FastAPI

from shared.collector import settle_heap

STARTUP_FAILURE = 3  # uvicorn's exit code when the server could not start (e.g. the port is taken)


class Server(uvicorn.Server):
    """uvicorn's server with a one-second tick.

    uvicorn looks for a shutdown request ten times a second. Each look wakes an otherwise idle process, and on
    small virtual machines a wake-up is expensive: with the fetcher's and the relay's idle timers it kept an idle
    service near a third of a core. A second is far inside Kubernetes' grace period for a shutdown.
    """

    tick_s = 1.0

    async def main_loop(self) -> None:
        # uvicorn counts ticks in tenths of a second and refreshes the Date header on every tenth one.
        tenths = 0
        while not await self.on_tick(tenths):
            await asyncio.sleep(self.tick_s)
            tenths = (tenths + 10) % 864_000


# How long requests in flight may finish after SIGTERM; then the service's own bounded shutdown runs. Without a bound
# a request waiting on an unreachable database holds the pod past its grace period, and SIGKILL skips the rest.
HTTP_DRAIN_TIMEOUT_S = 10


def server_config(app: FastAPI, *, host: str, port: int) -> uvicorn.Config:
    """Our logging (JSON, set up by the service), no access log, and no `server` header naming the software."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=HTTP_DRAIN_TIMEOUT_S,
    )


def serve(app: FastAPI, *, host: str, port: int) -> int:
    """Serve `app` until a shutdown signal; the exit status uvicorn itself would give."""
    server = Server(server_config(app, host=host, port=port))
    settle_heap()
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0 if server.started else STARTUP_FAILURE
