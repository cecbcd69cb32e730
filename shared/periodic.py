"""Background workers that run a job at an interval for the service's life (scheduled checks, deliveries)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.service import ServiceRuntime, Worker

log = logging.getLogger(__name__)
Job = Callable[["ServiceRuntime"], Awaitable[None]]


def every(interval_s: float, job: Job, *, what: str) -> Worker:
    """A worker (named after `job`) running it every `interval_s` seconds, the first run one interval after start-up;
    0 runs it never. A run that raises (a database outage) is logged as `what` failed and retried at the next
    interval: it must not end the worker; cancellation still does."""
    failed = f"{what} failed; retrying at the next interval"

    async def worker(runtime: ServiceRuntime) -> None:
        if interval_s <= 0:
            return
        while True:
            await asyncio.sleep(interval_s)
            try:
                await job(runtime)
            except Exception:
                log.exception(failed)

    worker.__name__ = getattr(job, "__name__", "worker")
    return worker
