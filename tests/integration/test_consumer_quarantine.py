"""Records the Kafka client cannot unpack, written to a real broker in each way the client can fail, are quarantined in
the service's PostgreSQL database with their raw batch, partition and offset; their partition moves on, in order; the
metric and `poverty quarantine` show them; a replay of one still unreadable changes nothing."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import aiokafka.codec
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.cli import main
from shared.db import create_engine, session_factory
from shared.local.kafka import LocalKafka
from shared.logs import configure_logging
from shared.messaging.cloudevents import Envelope
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.handlers import HandlerRegistry
from shared.messaging.kafka import ensure_topics, make_consumer, make_producer
from shared.messaging.quarantine import open_count
from shared.messaging.quarantine_records import QuarantinedRecord
from shared.messaging.record_batches import Unreadable, parse, read
from shared.metrics import RECORDS_QUARANTINED
from tests.kafka_support import eventually

pytestmark = pytest.mark.integration

# Records on one partition, in one batch or each in its own, some with a header key that is not UTF-8 (as a Go or C
# client can write): aiokafka's C record builder encodes header keys itself, its pure-Python one calls the key's own
# `encode`. The records' spec comes on stdin (thousands of records are longer than one argument may be).
WRITER = """
import asyncio, json, sys
from aiokafka import AIOKafkaProducer

class NotUtf8(str):
    def encode(self, *args, **kwargs):
        return b"ce_\\xff\\xfeid"

async def main(bootstrap, topic, partition, mode):
    one = mode == "one"
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=1000 if one else 0, max_batch_size=1 << 20, max_request_size=2 << 20
    )
    await producer.start()
    try:
        sent = []
        for record in json.loads(sys.stdin.read()):
            headers = [(NotUtf8(k) if record["bad"] else k, v if v is None else bytes.fromhex(v)) for k, v in
                       record["headers"]]
            value = bytes.fromhex(record["value"])
            sent.append(await producer.send(topic, value, partition=int(partition), headers=headers))
            if not one:
                await sent[-1]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()

asyncio.run(main(*sys.argv[1:]))
"""


@dataclass
class Rig:
    """A topic of two partitions, a runner consuming it into audit's schema, and what it applied, in order."""

    kafka: str
    engine: AsyncEngine
    database_url: str
    producer: AIOKafkaProducer
    topic: str = field(default_factory=lambda: f"quarantine-{uuid.uuid4().hex[:8]}")
    name: str = field(default_factory=lambda: f"q-{uuid.uuid4().hex[:8]}")
    applied: list[tuple[int, int]] = field(default_factory=list)

    def event(self, partition: int, n: int) -> tuple[bytes, list[tuple[str, bytes]]]:
        envelope = Envelope(
            id=str(uuid.uuid4()),
            type="t.v1",
            source="/tests",
            subject=f"s-{n}",
            time=datetime.now(UTC),
            data=json.dumps([partition, n]).encode(),
        )
        return envelope.data, envelope.to_headers()

    async def send(self, partition: int, *numbers: int) -> None:
        for n in numbers:
            value, headers = self.event(partition, n)
            await self.producer.send_and_wait(self.topic, value, partition=partition, headers=headers)

    async def write_batch(self, partition: int, spec: list[int | None], *, each_alone: bool = False) -> None:
        """One batch (or a batch each): an event for each number, a record with a non-UTF-8 header key for each None."""
        records = []
        for n in spec:
            value, headers = self.event(partition, n) if n is not None else (b"{}", [("x", b"1")])
            hexed: list[tuple[str, str | None]] = [(k, v.hex()) for k, v in headers]
            records.append({"bad": n is None, "value": value.hex(), "headers": [*hexed, ("note", None)]})
        env = {**os.environ, "AIOKAFKA_NO_EXTENSIONS": "1"}
        args = (self.kafka, self.topic, str(partition), "each" if each_alone else "one")
        writer = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, *args, env=env, stdin=asyncio.subprocess.PIPE
        )
        await asyncio.wait_for(writer.communicate(json.dumps(records).encode()), 120)
        assert writer.returncode == 0

    @asynccontextmanager
    async def running(self, *, failing: frozenset[int] | set[int] = frozenset()) -> AsyncIterator[ConsumerRunner]:
        """The runner at work; its handler fails on the events numbered in `failing` (a bug, every time)."""
        handlers = HandlerRegistry()

        @handlers.observe(self.topic)
        async def note(_: AsyncSession, envelope: Envelope, __: str) -> None:
            partition, n = json.loads(envelope.data)
            if n in failing:
                raise ValueError("a handler's bug")
            self.applied.append((partition, n))

        consumer = make_consumer(self.kafka, group_id=self.name, topics=[self.topic])
        await consumer.start()
        runner = ConsumerRunner(
            name=self.name,
            handlers=handlers,
            sessions=session_factory(self.engine),
            consumer=consumer,
            dlq_producer=self.producer,
            backoff_s=0.05,
        )
        task = asyncio.create_task(runner.run())
        try:
            yield runner
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await consumer.stop()

    async def committed(self, partition: int) -> int | None:
        consumer = make_consumer(self.kafka, group_id=self.name, topics=[])
        await consumer.start()
        try:
            offset: int | None = await consumer.committed(TopicPartition(self.topic, partition))
            return offset
        finally:
            await consumer.stop()

    async def reaches(self, partition: int, offset: int) -> None:
        """Wait, while the runner runs, until `offset` is committed on `partition`: a record is applied before its
        offset is committed, so a check right after the handler saw it can come too early."""
        await eventually(lambda: self._committed_is(partition, offset), timeout=30)

    async def _committed_is(self, partition: int, offset: int) -> bool:
        return await self.committed(partition) == offset

    async def rows(self) -> list[QuarantinedRecord]:
        async with AsyncSession(self.engine) as session:
            query = select(QuarantinedRecord).order_by(QuarantinedRecord.offset)  # type: ignore[arg-type]
            return list((await session.scalars(query)).all())

    def on(self, partition: int) -> list[int]:
        return [n for p, n in self.applied if p == partition]


@pytest.fixture
async def rig(kafka: str, pg_database: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    url = await pg_database("audit")  # any service's schema: the runner needs its inbox and quarantine
    engine = create_engine(url)
    producer = make_producer(kafka, client_id="test")
    await producer.start()
    rig = Rig(kafka, engine, url, producer)
    await ensure_topics(kafka, [rig.topic, f"{rig.topic}.dlq"], partitions=2)
    monkeypatch.setenv("AUDIT_DATABASE_URL", url)
    monkeypatch.setenv("AUDIT_KAFKA_BOOTSTRAP_SERVERS", kafka)
    try:
        yield rig
    finally:
        await producer.stop()
        await engine.dispose()


def quarantined(rig: Rig) -> float:
    return float(RECORDS_QUARANTINED.labels(rig.name, rig.topic)._value.get())


async def poverty(*argv: str) -> int:
    return await asyncio.to_thread(main, ["quarantine", *argv, "--service", "audit"])


async def test_a_header_key_not_utf8_is_quarantined_and_the_rest_of_its_batch_applied(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    await rig.send(0, 0, 1)  # offsets 0, 1
    await rig.write_batch(0, [2, None, 3, None, None, 4])  # one batch, offsets 2-7
    await rig.send(0, 5)  # offset 8
    await rig.send(1, 0, 1, 2)
    async with rig.running():
        await eventually(lambda: len(rig.applied) == 9, timeout=60)
        assert rig.on(0) == [0, 1, 2, 3, 4, 5]  # in order, each once, the records around the unreadable ones too
        assert rig.on(1) == [0, 1, 2]
        await eventually(lambda: quarantined(rig) == 3, timeout=30)
        await rig.reaches(0, 9)
        await rig.reaches(1, 3)
    rows = await rig.rows()
    assert [(r.partition, r.offset, r.error_type) for r in rows] == [(0, 3, "UnicodeDecodeError")] + [
        (0, offset, "UnicodeDecodeError") for offset in (5, 6)
    ]
    assert rows[0].error_where.startswith("record 3 of batch 2-7 (6 records")
    alone = parse(rows[0].raw or b"")  # the record's own bytes, under a copy of its batch's header
    assert (alone.base_offset, alone.record_count) == (2, 1)
    assert [(u.first, u.last) for u in read(alone) if isinstance(u, Unreadable)] == [(3, 3)]
    assert json.dumps([0, 2]).encode() not in (rows[0].raw or b"")  # nothing of the records around it

    assert await poverty("list") == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[2] for line in listed] == [f"{rig.topic}:0@{offset}" for offset in (3, 5, 6)]
    assert await poverty("show", str(rows[0].id), "--max-bytes", "32") == 0
    shown = capsys.readouterr().out
    assert "offset: 3" in shown and "error: UnicodeDecodeError" in shown and "the first 32 shown" in shown
    assert await poverty("replay", str(rows[0].id)) == 1  # a header key that is not UTF-8 stays unreadable
    assert "still cannot be read" in capsys.readouterr().out
    assert [(r.resolved_at, r.resolution) for r in await rig.rows()] == [(None, None)] * 3
    assert await poverty("dismiss", str(rows[0].id), "--reason", "written by a broken test client") == 0
    async with AsyncSession(rig.engine) as session:
        assert await open_count(session) == 2


async def test_a_batch_whose_codec_is_not_installed_is_quarantined_whole_and_replayed_once_it_is(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    await rig.send(0, 0)
    zstd = AIOKafkaProducer(bootstrap_servers=rig.kafka, compression_type="zstd", linger_ms=500)
    await zstd.start()
    try:
        events = [rig.event(0, n) for n in (1, 2, 3)]
        sent = [await zstd.send(rig.topic, value, partition=0, headers=headers) for value, headers in events]
        await asyncio.gather(*sent)  # one batch, offsets 1-3
    finally:
        await zstd.stop()
    await rig.send(0, 4)
    without_codec = pytest.MonkeyPatch()
    without_codec.setattr(aiokafka.codec, "has_zstd", lambda: False)  # as on a machine without the codec
    try:
        async with rig.running():
            await eventually(lambda: rig.on(0) == [0, 4] and quarantined(rig) == 1, timeout=60)
            [row] = await rig.rows()
            assert (row.offset, row.error_type) == (1, "UnsupportedCodecError")
            assert row.error_where.startswith("offsets 1-3, the batch as a whole, of batch 1-3 (3 records")
            assert row.error_where.endswith("codec zstd)")
            await rig.reaches(0, 5)

            assert await poverty("replay", str(row.id)) == 1
            assert "still cannot be read (UnsupportedCodecError)" in capsys.readouterr().out
            assert (await rig.rows())[0].resolved_at is None
            await asyncio.sleep(1)
            assert rig.on(0) == [0, 4]  # nothing was republished

            without_codec.undo()  # the codec installed
            assert await poverty("replay", str(row.id)) == 0
            await eventually(lambda: rig.on(0) == [0, 4, 1, 2, 3], timeout=30)
    finally:
        without_codec.undo()
    [row] = await rig.rows()
    assert row.resolution == "replayed" and row.resolved_at is not None
    assert await poverty("replay", str(row.id)) == 2  # done with: refused, nothing changed
    assert "replayed already" in capsys.readouterr().err


async def test_a_batch_corrupted_on_the_brokers_disk_is_quarantined_by_its_crc(
    rig: Rig, local_kafka: LocalKafka | None
) -> None:
    if local_kafka is None:
        pytest.skip("the tests' own broker's files are needed")
    await rig.send(0, 0, 1, 2)
    segment = local_kafka.log_dir / f"{rig.topic}-0" / "00000000000000000000.log"
    stored = segment.read_bytes()
    marker = json.dumps([0, 1]).encode()  # the value of offset 1, in a batch of its own
    at = stored.index(marker)
    with segment.open("r+b") as file:
        file.seek(at + 1)
        file.write(b"9")  # a bit flipped on disk: the batch's CRC no longer matches
    async with rig.running():
        await eventually(lambda: rig.on(0) == [0, 2] and quarantined(rig) == 1, timeout=60)
        await rig.reaches(0, 3)
    [row] = await rig.rows()
    assert (row.offset, row.error_type) == (1, "CorruptRecordException")
    assert row.error_where.startswith("offsets 1-1, the batch as a whole")


async def test_when_the_quarantine_cannot_be_written_the_partition_waits_and_skips_nothing(rig: Rig) -> None:
    async with rig.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE quarantined_record RENAME TO quarantined_record_away"))
    await rig.send(0, 0)
    await rig.write_batch(0, [None])
    await rig.send(0, 1)
    async with rig.running():
        await eventually(lambda: rig.on(0) == [0], timeout=60)
        await asyncio.sleep(2)
        assert rig.on(0) == [0] and await rig.committed(0) == 1  # stalled at the unreadable record
        async with rig.engine.begin() as connection:
            await connection.execute(text("ALTER TABLE quarantined_record_away RENAME TO quarantined_record"))
        await eventually(lambda: rig.on(0) == [0, 1], timeout=60)
        await rig.reaches(0, 3)
    assert [row.offset for row in await rig.rows()] == [1]


async def test_bad_cli_input_is_refused_with_exit_status_2(rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    assert await poverty("show", "999") == 2
    assert "no quarantined record 999" in capsys.readouterr().err
    assert await poverty("replay", "999") == 2
    assert await poverty("dismiss", "999", "--reason", "x") == 2
    assert await poverty("dismiss", "1", "--reason", "  ") == 2
    assert "--reason must be 1-500 characters" in capsys.readouterr().err
    assert await poverty("show", "1", "--max-bytes", "-1") == 2
    with pytest.raises(SystemExit) as exited:
        await poverty("show", "one")
    assert exited.value.code == 2


async def test_thousands_of_unreadable_records_in_one_batch_are_quarantined_each_once(rig: Rig) -> None:
    """More rows than one INSERT may carry (8 values a row, 32,767 at most in PostgreSQL's protocol), each with its
    record's bytes only."""
    await rig.send(0, 0)
    await rig.write_batch(0, [None] * 4200 + [1])  # offsets 1-4201
    async with rig.running():
        await eventually(lambda: rig.on(0) == [0, 1], timeout=120)
        await rig.reaches(0, 4202)
    async with rig.engine.connect() as connection:
        rows, stored = (
            await connection.execute(text("SELECT count(*), sum(length(raw)) FROM quarantined_record"))
        ).one()
    assert rows == 4200 and quarantined(rig) == 4200
    assert stored < 4200 * 200  # each its own record's bytes, not the batch's (~150 kB) again each time


async def test_a_run_of_unreadable_records_each_in_its_own_batch_is_quarantined_in_one_round(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    await rig.send(0, 0)
    await rig.write_batch(0, [None] * 200, each_alone=True)  # offsets 1-200, a batch each
    await rig.send(0, 1)
    caplog.set_level(logging.ERROR, "shared.messaging")
    async with rig.running():
        await eventually(lambda: rig.on(0) == [0, 1], timeout=120)
        await rig.reaches(0, 202)
    told = [r.__dict__ for r in caplog.records if r.msg == "records the client cannot unpack quarantined"]
    assert [(line["first_offset"], line["last_offset"]) for line in told] == [(1, 200)]
    assert len(await rig.rows()) == 200


async def test_every_dead_letter_and_quarantine_is_told_when_nothing_is_down(rig: Rig) -> None:
    """The service's logging (its repeated warnings held back): a handler that always fails on one event, two poison
    records and an unreadable one, each told with where it was."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("audit")
    out = io.StringIO()
    cast(logging.StreamHandler[io.StringIO], root.handlers[0]).setStream(out)
    try:
        await rig.send(0, 0, 1)  # 1: the handler fails on it (see `failing`)
        await rig.producer.send_and_wait(rig.topic, b"not a cloudevent", partition=0)
        await rig.producer.send_and_wait(rig.topic, b"nor this", partition=0)
        await rig.write_batch(0, [None])
        await rig.send(0, 2)
        async with rig.running(failing={1}):  # 0 may be applied twice in memory: its batch with 1 rolled back
            await eventually(lambda: 2 in rig.on(0), timeout=60)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    dead = [line["offset"] for line in lines if line["msg"] == "event dead-lettered"]
    kept = [line["first_offset"] for line in lines if line["msg"] == "records the client cannot unpack quarantined"]
    assert (sorted(dead), kept) == ([1, 2, 3], [4])
