"""Benchmark: the outbox relay against the raw idempotent producer, on the same broker, in one run.

    .venv/bin/python bench/relay_throughput.py [--events 50000] [--rounds 1] [--kafka HOST:PORT]
                                               [--database-url postgresql+asyncpg://...]

Each round times, back to back:

- raw: one `AIOKafkaProducer` with the settings of the platform's producer (`make_producer`: idempotent, acks=all,
  the same linger, batch size and compression) sends N prepared records (the relay's values, keys and CloudEvents
  headers) as fast as it accepts them, then waits for every acknowledgement;
- relay: the platform's `OutboxRelay` (leadership lock, LISTEN, spans, marking) publishes N outbox rows written
  beforehand in transactions of 100, from its start until the last row is marked published.

Both send to topics of 3 partitions, as the services' topics, with keys spread as a service's (a few events per
household). It prints events/s for each, the ratio, CPU per event of this process (where the relay runs), the broker
and PostgreSQL, and the machine's speed (`cpu.machine_speed`) before and after. A local broker and a scratch database
are made unless given.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cpu import CpuBill, CpuMeter, machine_speed
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.contracts.households import HouseholdRegistered
from shared.db import create_engine
from shared.local.databases import admin_url, scratch_database
from shared.local.kafka import LocalKafka
from shared.messaging.kafka import SharedProducer, ensure_topics, make_producer
from shared.messaging.outbox import OUTBOX, OutboxRow, OutboxSignal, outbox_row
from shared.messaging.relay import OutboxRelay
from shared.metrics import OUTBOX_PUBLISHED
from shared.migrations import upgrade_to_head
from shared.timeutil import utcnow
from shared.tracing import configure_tracing

EVENTS_PER_KEY = 5  # a household's registration and its members' facts
WRITE_TRANSACTION = 100
PARTITIONS = 3
Record = tuple[bytes, bytes, list[tuple[str, bytes]]]  # value, key, headers


@dataclass(frozen=True)
class Phase:
    """One timed side of a round: events, seconds, and the CPU each process spent."""

    events: int
    seconds: float
    bill: CpuBill

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def outbox_rows(count: int, topic: str) -> list[OutboxRow]:
    """`count` outbox rows as a service records them, EVENTS_PER_KEY to a household."""
    now, rows = utcnow(), []
    for n in range(count):
        household = uuid.UUID(int=n // EVENTS_PER_KEY + 1)
        event = HouseholdRegistered(
            household_id=household, household_code=f"B-{n}", area_code="371523101201", member_count=3
        )
        row = outbox_row(event, source="/bench", now=now)
        row["topic"] = topic
        rows.append(row)
    return rows


def prepared_records(rows: list[OutboxRow]) -> list[Record]:
    """What the relay sends for `rows`: the payload, the key, the CloudEvents headers with a traceparent."""
    traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"
    records = []
    for row in rows:
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", row["event_id"].encode()),
            ("ce_type", row["event_type"].encode()),
            ("ce_source", row["source"].encode()),
            ("ce_subject", row["key"].encode()),
            ("ce_time", row["occurred_at"].isoformat().encode()),
            ("content-type", b"application/json"),
            ("traceparent", traceparent.encode()),
        ]
        records.append((row["payload"].encode(), row["key"].encode(), headers))
    return records


async def raw_phase(bootstrap: str, topic: str, records: list[Record], meter: CpuMeter) -> Phase:
    producer = make_producer(bootstrap, client_id="bench-raw")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"warm-up", key=b"warm-up")
        before, started = await meter.read(), time.perf_counter()
        pending = [await producer.send(topic, value, key=key, headers=headers) for value, key, headers in records]
        await asyncio.gather(*pending)
        seconds = time.perf_counter() - started
        return Phase(len(records), seconds, CpuBill.between(before, await meter.read(), len(records)))
    finally:
        await producer.stop()


async def write_outbox(engine: AsyncEngine, rows: list[OutboxRow], *, analyze: bool) -> None:
    """The rows, committed in transactions of WRITE_TRANSACTION as services' use cases commit them; then, unless
    told not to, the table's statistics taken, as autovacuum does within a minute of such a burst in service."""
    for start in range(0, len(rows), WRITE_TRANSACTION):
        async with engine.begin() as conn:
            await conn.execute(insert(OUTBOX), rows[start : start + WRITE_TRANSACTION])
    if analyze:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE outbox"))


def published_so_far() -> float:
    """Rows the relay has marked published (the counter alone: the registry would also read /proc each time)."""
    (metric,) = OUTBOX_PUBLISHED.collect()
    return next(sample.value for sample in metric.samples if sample.name.endswith("_total"))


async def relay_phase(bootstrap: str, engine: AsyncEngine, count: int, meter: CpuMeter) -> Phase:
    producer = SharedProducer(lambda: make_producer(bootstrap, client_id="bench-relay"))
    await producer.start()
    relay = OutboxRelay(engine=engine, producer=producer, signal=OutboxSignal())
    target = published_so_far() + count
    try:
        before, started = await meter.read(), time.perf_counter()
        task = asyncio.create_task(relay.run())
        while published_so_far() < target:
            done, _ = await asyncio.wait([task], timeout=0.01)
            if done:
                task.result()  # the relay stopped: raise why
        seconds = time.perf_counter() - started
        bill = CpuBill.between(before, await meter.read(), count)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        await producer.stop()
    async with engine.connect() as conn:
        unpublished = await conn.scalar(select(func.count()).where(OUTBOX.c.published_at.is_(None)))
    assert unpublished == 0, f"{unpublished} rows left unpublished"
    return Phase(count, seconds, bill)


async def round_(bootstrap: str, engine: AsyncEngine, args: argparse.Namespace, meter: CpuMeter) -> tuple[Phase, Phase]:
    events = args.events
    suffix = uuid.uuid4().hex[:8]
    raw_topic, relay_topic = f"bench-raw-{suffix}", f"bench-relay-{suffix}"
    await ensure_topics(bootstrap, [raw_topic, relay_topic], partitions=PARTITIONS)
    raw = await raw_phase(bootstrap, raw_topic, prepared_records(outbox_rows(events, raw_topic)), meter)
    await write_outbox(engine, outbox_rows(events, relay_topic), analyze=not args.stale_statistics)
    relay = await relay_phase(bootstrap, engine, events, meter)
    return raw, relay


def report(n: int, raw: Phase, relay: Phase) -> None:
    print(f"round {n}: raw producer {raw.rate:,.0f} events/s ({raw.seconds:.1f} s), relay {relay.rate:,.0f} events/s")
    print(f"  ({relay.seconds:.1f} s): ratio {relay.rate / raw.rate:.2f}")
    for name, phase in (("raw", raw), ("relay", relay)):
        print(f"  {name}: " + "; ".join(phase.bill.lines("event")))


@contextlib.asynccontextmanager
async def kafka_broker(given: str | None, workdir: Path) -> AsyncIterator[tuple[str, int | None]]:
    """The bootstrap address, and the broker's process id when it is ours."""
    if given:
        yield given, None
        return
    async with LocalKafka(data_dir=workdir / "kafka") as broker:
        yield broker.bootstrap_servers, broker.pid


@contextlib.asynccontextmanager
async def database(args: argparse.Namespace) -> AsyncIterator[str]:
    if args.database_url:
        yield args.database_url
        return
    async with scratch_database(args.admin_url, "bench_relay") as url:
        yield url


async def main(args: argparse.Namespace) -> None:
    configure_tracing("bench-relay")  # spans made as a service makes them (exported nowhere)
    with tempfile.TemporaryDirectory(prefix="bench-relay-") as tmp:
        async with kafka_broker(args.kafka, Path(tmp)) as (bootstrap, broker_pid), database(args) as url:
            engine = create_engine(url)
            try:
                await upgrade_to_head(engine, "households")
                meter = CpuMeter({"Kafka broker": broker_pid}, database_url=url)
                print(f"{args.events:,} events a side, written in transactions of {WRITE_TRANSACTION}, on a topic of")
                print(f"{PARTITIONS} partitions, {EVENTS_PER_KEY} events a key")
                print(f"machine speed before: {machine_speed()}")
                ratios = []
                for n in range(1, args.rounds + 1):
                    raw, relay = await round_(bootstrap, engine, args, meter)
                    report(n, raw, relay)
                    ratios.append(relay.rate / raw.rate)
                print(f"ratio relay / raw: median {statistics.median(ratios):.2f} of {len(ratios)} round(s)")
                print(f"machine speed after: {machine_speed()}")
            finally:
                await engine.dispose()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=50_000, help="events each side publishes per round")
    p.add_argument("--rounds", type=int, default=1, help="raw-then-relay rounds (the ratio's median is printed)")
    p.add_argument("--kafka", default=os.environ.get("BENCH_KAFKA_BOOTSTRAP"), help="use this broker, not a new one")
    p.add_argument(
        "--stale-statistics",
        action="store_true",
        help="do not ANALYZE the outbox after writing the backlog (as just after a burst, before autovacuum runs)",
    )
    p.add_argument("--database-url", help="an existing database (migrated here for households) instead of a new one")
    p.add_argument("--admin-url", default=admin_url(), help="PostgreSQL where the scratch database is created")
    return p


if __name__ == "__main__":
    args: Any = parser().parse_args()
    asyncio.run(main(args))
