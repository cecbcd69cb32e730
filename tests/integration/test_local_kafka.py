"""The local single-node Kafka broker reports a failed start with its log (that it serves, and keeps its data
across a restart, is shown by every Kafka test and by tests/integration/test_relay_broker_outage.py)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from shared.local.kafka import LocalKafka

pytestmark = pytest.mark.integration

# Generous: on a shared 2-core machine running other suites a cold JVM start took up to a minute.
READY_TIMEOUT = 180.0


async def test_wait_ready_fails_fast_with_log_tail(tmp_path: Path) -> None:
    """A broker that cannot bind its port exits, and wait_ready reports that with the broker log."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        broker = LocalKafka(data_dir=tmp_path / "kafka", port=taken.getsockname()[1])
        await asyncio.to_thread(broker.start)
        try:
            with pytest.raises(RuntimeError, match="exited with code") as failure:
                await broker.wait_ready_async(READY_TIMEOUT)
        finally:
            await asyncio.to_thread(broker.stop)
    message = str(failure.value)
    assert "errors logged by this run" in message
    assert "broker.log" in message
    # The cause, logged well before the shutdown chatter that fills the tail, is in the message.
    assert "Address already in use" in message.partition("tail:")[0]
