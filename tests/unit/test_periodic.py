"""The one periodic worker: a run every interval, the first one interval after start-up; a failed run is logged and
retried at the next interval; 0 never runs; cancellation ends it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared.periodic import every


async def test_a_failing_run_is_logged_and_the_next_interval_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    third = asyncio.Event()

    async def flaky_job(_: Any) -> None:
        runs.append(len(runs))
        if len(runs) == 3:
            third.set()
        if len(runs) == 1:
            raise ConnectionError("database away")

    worker = every(0.01, flaky_job, what="flaky checks")
    assert worker.__name__ == "flaky_job"  # the task is named after the job
    task = asyncio.create_task(worker(None))  # type: ignore[arg-type]
    async with asyncio.timeout(5):
        await third.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [r.getMessage() for r in caplog.records] == ["flaky checks failed; retrying at the next interval"]


async def test_an_interval_of_zero_never_runs() -> None:
    async def job(_: Any) -> None:
        raise AssertionError("ran")

    await asyncio.wait_for(every(0, job, what="never")(None), timeout=1)  # type: ignore[arg-type]
