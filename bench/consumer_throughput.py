"""Benchmark: the consumer runner and its inbox against the raw libraries, through a real broker and PostgreSQL.

    .venv/bin/python bench/consumer_throughput.py [--events 20000] [--bootstrap HOST:PORT]
        [--database-url URL] [--audit-database-url URL] [--batch-size N]
        [--paths raw,raw_asyncpg,raw_audit,raw_audit_late,one_row,open_finding,audit,audit_late] [--tracer sdk|api]

In one run, each path reading the same number of records already waiting on the topic (the clock starts once the
consumer has its partitions, so joining the group is not counted), in a consumer group of its own:

- `raw`: a bare aiokafka consumer reading the records;
- `raw_asyncpg`: the same, inserting one row per record with one asyncpg `executemany` per fetch, in a transaction,
  then committing the offsets (each raw path is run three times, the median pass reported: a pass is short);
- `raw_audit`: the same consumer reading the records `audit` reads, writing what audit writes for each (its inbox
  row, finding, task, referral, three outbox events, four chained log entries: `_raw_audit.py`) with bare asyncpg,
  one transaction per fetch, then committing the offsets: the raw libraries doing audit's work, which `raw_asyncpg`'s
  one narrow row a record is not. Its rows are deleted after each pass, log entries included (the log's triggers
  skipped, as only a superuser may): it runs on the scratch audit database only;
- `raw_audit_late`: the same reading the records `audit_late` reads, found long before they are reported: each also
  writes the finding of late reporting (迟报) and its task, their two events and log entries, as audit does;
- `one_row`: the platform's consumer runner (inbox, batches, spans, metrics) with a handler adding one row, the
  garbage collector set as in a service's process (`shared/collector.py`), as for every platform path;
- `open_finding`: households' handler of audit's `FindingRecorded` (its open-findings read model) for households
  that exist;
- `audit`: audit's handlers of a D-grade `HouseholdProblemFound` reported the day it was found (a finding, a task
  and a referral, the log entries, the events audit publishes);
- `audit_late`: the same found on 2020-05-12, as `audit_findings.py` sends them: each also opens a finding of late
  reporting (迟报) and its task.

The platform's paths run with the tracer provider a service installs (`shared.tracing.configure_tracing`: the SDK's
provider, exporting nowhere unless `OTEL_*` says so, its spans non-recording); `--tracer api` leaves the API's no-op
tracer instead. It prints events/s, this process's and PostgreSQL's CPU per event, and each writing path's ratio to
`raw_asyncpg` (`audit`'s to `raw_audit` too, `audit_late`'s to `raw_audit_late`), with the machine's speed
(`cpu.machine_speed`) before and after.
Without `--database-url` the households paths run on a scratch database (1,000 households); with it, on that
database (its households are read, the benchmark's rows and inbox entries deleted afterwards). Audit runs on
`--audit-database-url` or a scratch database (its findings stay: they are what audit would have recorded).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import _raw_audit
import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from consumer_paths import (
    finding_envelopes,
    households_of,
    kafka_broker,
    one_row_handlers,
    open_finding_handlers,
    problem_envelopes,
    remove_bench_rows,
    seed_households,
)
from cpu import machine_speed, server_cpu_s
from sqlalchemy import text

from services.audit.handlers import build_handlers as audit_handlers
from services.audit.settings import AuditSettings
from shared.collector import settle_heap
from shared.contracts import AUDIT_TOPIC, HOUSEHOLDS_TOPIC
from shared.db import create_engine, session_factory
from shared.local.databases import admin_url, asyncpg_options, scratch_database
from shared.messaging.cloudevents import Envelope
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.handlers import HandlerRegistry
from shared.messaging.kafka import ensure_topics, make_consumer, make_producer
from shared.metrics import EVENTS_CONSUMED
from shared.migrations import upgrade_to_head
from shared.settings import ServiceSettings
from shared.timeutil import district_today
from shared.tracing import configure_tracing

PATHS = ("raw", "raw_asyncpg", "raw_audit", "raw_audit_late", "one_row", "open_finding", "audit", "audit_late")
RAW_PATHS = PATHS[:4]
RAW_AUDIT_PATHS = ("raw_audit", "raw_audit_late")
RAW_PASSES = 3
# The raw baselines a path's rate is divided by: raw_asyncpg's one row a record for every path that writes; for audit's
# paths also the raw libraries doing the same writes (on-time problems, and late ones with their second finding).
BASELINES = {path: ("raw_asyncpg",) for path in ("raw_audit", "raw_audit_late", "one_row", "open_finding")} | {
    "audit": ("raw_asyncpg", "raw_audit"),
    "audit_late": ("raw_asyncpg", "raw_audit_late"),
}
LATE = date(2020, 5, 12)  # `audit_late`, `raw_audit_late`: problems found on this day, reported today


@dataclass
class Result:
    path: str
    events: int
    seconds: float
    python_cpu_s: float
    database_cpu_s: float | None

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def line(self, baselines: dict[str, Result]) -> str:
        cpu = f"{1000 * self.python_cpu_s / self.events:.3f} ms Python"
        if self.database_cpu_s is not None:
            cpu += f" + {1000 * self.database_cpu_s / self.events:.3f} ms PostgreSQL"
        ratios = "".join(f", {self.rate / baseline.rate:.3f} of {name}" for name, baseline in baselines.items())
        return f"| {self.path} | {self.rate:,.0f} events/s | {cpu} | {self.seconds:.2f} s{ratios} |"


async def publish(bootstrap: str, topic: str, envelopes: list[Envelope]) -> dict[TopicPartition, int]:
    """Write the records; returns where each partition's benchmark records start."""
    producer = make_producer(bootstrap, client_id="bench-consumer-throughput")
    await producer.start()
    try:
        sent = [await producer.send(topic, e.data, key=e.subject.encode(), headers=e.to_headers()) for e in envelopes]
        written = await asyncio.gather(*sent)
    finally:
        await producer.stop()
    starts: dict[TopicPartition, int] = {}
    for metadata in written:
        tp = TopicPartition(topic, metadata.partition)
        starts[tp] = min(metadata.offset, starts.get(tp, metadata.offset))
    return starts


async def new_group(bootstrap: str, topic: str, starts: dict[TopicPartition, int]) -> str:
    """A consumer group whose committed offsets are where the benchmark's records start (a reused broker's topic
    may hold earlier records)."""
    group = f"bench-{uuid.uuid4().hex[:12]}"
    committer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await committer.start()
    try:
        committer.assign(list(starts))
        await committer.commit(starts)
    finally:
        await committer.stop()
    return group


@contextlib.asynccontextmanager
async def joined(bootstrap: str, topic: str, group: str) -> AsyncIterator[AIOKafkaConsumer]:
    consumer = make_consumer(bootstrap, group_id=group, topics=[topic])
    await consumer.start()
    try:
        while not consumer.assignment():  # noqa: ASYNC110 (aiokafka tells no one when it joins)
            await asyncio.sleep(0.01)
        yield consumer
    finally:
        await consumer.stop()


async def timed(path: str, count: int, database_url: str | None, work: Callable[[], Awaitable[None]]) -> Result:
    engine = create_engine(database_url) if database_url else None
    try:
        database_before = await server_cpu_s(engine) if engine else None
        started, cpu_started = time.perf_counter(), time.process_time()
        await work()
        seconds, python_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        database_after = await server_cpu_s(engine) if engine else None
    finally:
        if engine:
            await engine.dispose()
    spent = None if database_before is None or database_after is None else database_after - database_before
    return Result(path, count, seconds, python_cpu, spent)


async def raw(bootstrap: str, topic: str, group: str, count: int) -> Result:
    async with joined(bootstrap, topic, group) as consumer:

        async def consume() -> None:
            seen = 0
            while seen < count:
                batches = await consumer.getmany(timeout_ms=1000, max_records=500)
                seen += sum(len(records) for records in batches.values())

        return await timed("raw aiokafka consumer", count, None, consume)


async def write_each_fetch(
    consumer: AIOKafkaConsumer,
    connection: asyncpg.Connection,
    count: int,
    write: Callable[[list[ConsumerRecord[bytes, bytes]]], Awaitable[object]],
) -> None:
    """The raw paths' loop, until `count` records: each fetch written by `write` in one transaction, then its
    offsets committed."""
    seen = 0
    while seen < count:
        batches = await consumer.getmany(timeout_ms=1000, max_records=500)
        records = [r for rs in batches.values() for r in rs]
        async with connection.transaction():
            await write(records)
        if batches:
            await consumer.commit({tp: rs[-1].offset + 1 for tp, rs in batches.items()})
        seen += len(records)


async def raw_asyncpg(bootstrap: str, topic: str, group: str, count: int, database_url: str) -> Result:
    connection = await asyncpg.connect(**asyncpg_options(database_url))
    await connection.execute("CREATE TABLE IF NOT EXISTS bench_raw_row (event_id text PRIMARY KEY, at bigint)")
    try:
        async with joined(bootstrap, topic, group) as consumer:

            async def insert(records: list[ConsumerRecord[bytes, bytes]]) -> None:
                rows = [(dict(r.headers)["ce_id"].decode(), r.offset) for r in records]
                await connection.executemany("INSERT INTO bench_raw_row VALUES ($1, $2)", rows)

            async def consume() -> None:
                await write_each_fetch(consumer, connection, count, insert)

            return await timed("raw consumer + asyncpg executemany", count, database_url, consume)
    finally:
        await connection.execute("DROP TABLE bench_raw_row")
        await connection.close()


async def raw_audit(label: str, bootstrap: str, topic: str, group: str, count: int, database_url: str) -> Result:
    """The raw libraries doing audit's writes (`_raw_audit.py`), a transaction a fetch. What the pass wrote is deleted
    after it: the next pass reads the same records, whose findings would be open already."""
    connection = await asyncpg.connect(**asyncpg_options(database_url))
    name = f"bench-raw_audit-{uuid.uuid4().hex[:8]}"
    log_head = await _raw_audit.log_head(connection)
    findings: list[uuid.UUID] = []
    try:
        async with joined(bootstrap, topic, group) as consumer:

            async def write(records: list[ConsumerRecord[bytes, bytes]]) -> None:
                rows = await _raw_audit.write(connection, name, records)
                findings.extend(finding[0] for finding in rows.findings)

            async def consume() -> None:
                await write_each_fetch(consumer, connection, count, write)

            return await timed(label, count, database_url, consume)
    finally:
        await _raw_audit.remove(connection, name, findings, log_head)
        await connection.close()


def applied(topic: str) -> float:
    """The events the runner has applied from `topic` (its own counter, read without the other collectors)."""
    return sum(
        sample.value
        for metric in EVENTS_CONSUMED.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["topic"] == topic and sample.labels["outcome"] == "applied"
    )


async def platform(
    path: str, handlers: HandlerRegistry, bootstrap: str, topic: str, count: int, database_url: str
) -> Result:
    engine = create_engine(database_url)
    name = f"bench-{path}-{uuid.uuid4().hex[:8]}"
    group = await new_group(bootstrap, topic, PUBLISHED[topic])
    try:
        async with joined(bootstrap, topic, group) as consumer:
            no_dead_letters: Any = None  # no record here is poison
            sessions = session_factory(engine)
            runner = ConsumerRunner(
                name=name,
                handlers=handlers,
                sessions=sessions,
                consumer=consumer,
                dlq_producer=no_dead_letters,
                batch_size=BATCH_SIZE[0],
            )
            goal = applied(topic) + count
            settle_heap()  # the collector as a service's process sets it once started (`shared/server.py`)

            async def consume() -> None:
                task = asyncio.create_task(runner.run())
                try:
                    while applied(topic) < goal and not task.done():  # noqa: ASYNC110 (read from the metrics)
                        await asyncio.sleep(0.02)
                finally:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)

            return await timed(path, count, database_url, consume)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM inbox WHERE consumer = :name"), {"name": name})
        await engine.dispose()


PUBLISHED: dict[str, dict[TopicPartition, int]] = {}
BATCH_SIZE = [ServiceSettings.model_fields["consumer_batch_size"].default]


async def publish_problems(bootstrap: str, count: int, path: str) -> None:
    """Written just before they are read: the records of one path are all before those of the next. The late paths'
    problems were found on `LATE`, the others' today."""
    problems = problem_envelopes(count, found_on=LATE if path.endswith("_late") else district_today())
    PUBLISHED[HOUSEHOLDS_TOPIC] = await publish(bootstrap, HOUSEHOLDS_TOPIC, problems)


async def raw_passes(path: str, bootstrap: str, count: int, households_url: str, audit_url: str) -> Result:
    """A raw pass takes a fraction of a second (`raw_audit`'s a few), where a scheduling hiccup weighs: the median of
    three passes over the same records."""
    topic = HOUSEHOLDS_TOPIC if path in RAW_AUDIT_PATHS else AUDIT_TOPIC
    if path in RAW_AUDIT_PATHS:
        await publish_problems(bootstrap, count, path)
    passes = []
    for _ in range(RAW_PASSES):
        group = await new_group(bootstrap, topic, PUBLISHED[topic])
        if path == "raw":
            passes.append(await raw(bootstrap, topic, group, count))
        elif path == "raw_asyncpg":
            passes.append(await raw_asyncpg(bootstrap, topic, group, count, households_url))
        else:
            label = "raw consumer + asyncpg, audit's writes" + (", reported late" if path == "raw_audit_late" else "")
            passes.append(await raw_audit(label, bootstrap, topic, group, count, audit_url))
    return sorted(passes, key=lambda result: result.seconds)[RAW_PASSES // 2]


async def run_paths(args: argparse.Namespace, bootstrap: str, households_url: str, audit_url: str) -> dict[str, Result]:
    await ensure_topics(bootstrap, [AUDIT_TOPIC, HOUSEHOLDS_TOPIC])
    households = await households_of(households_url, 1000)
    PUBLISHED[AUDIT_TOPIC] = await publish(bootstrap, AUDIT_TOPIC, finding_envelopes(households, args.events))
    results = {}
    for path in args.paths.split(","):
        if path in RAW_PATHS:
            results[path] = await raw_passes(path, bootstrap, args.events, households_url, audit_url)
        elif path == "one_row":
            results[path] = await platform(
                path, one_row_handlers(), bootstrap, AUDIT_TOPIC, args.events, households_url
            )
        elif path == "open_finding":
            handlers = open_finding_handlers()
            results[path] = await platform(path, handlers, bootstrap, AUDIT_TOPIC, args.events, households_url)
        elif path in ("audit", "audit_late"):
            await publish_problems(bootstrap, args.events, path)
            handlers = audit_handlers(AuditSettings(database_url=audit_url))
            results[path] = await platform(path, handlers, bootstrap, HOUSEHOLDS_TOPIC, args.events, audit_url)
        print(results[path].line({}), flush=True)
    await remove_bench_rows(households_url)
    return results


@contextlib.asynccontextmanager
async def database(given: str | None, service: str, prefix: str, seed: bool = False) -> AsyncIterator[str]:
    if given:
        yield given
        return
    async with scratch_database(admin_url(), prefix) as url:
        engine = create_engine(url)
        await upgrade_to_head(engine, service)
        await engine.dispose()
        if seed:
            await seed_households(url, 1000)
        yield url


async def main(args: argparse.Namespace) -> None:
    BATCH_SIZE[0] = args.batch_size
    if args.tracer == "sdk":
        configure_tracing("bench-consumer")  # as `install_tracing` does in a service's process
    print(f"machine speed before: {machine_speed()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-consumer-") as workdir:
        async with (
            kafka_broker(args.bootstrap, Path(workdir)) as bootstrap,
            database(args.database_url, "households", "bench_consumer_households", seed=True) as households_url,
            database(args.audit_database_url, "audit", "bench_consumer_audit") as audit_url,
        ):
            results = await run_paths(args, bootstrap, households_url, audit_url)
    print(f"\n{args.events:,} events a path")
    print("| path | throughput | CPU per event | time, ratios |")
    print("| --- | --- | --- | --- |")
    for path, result in results.items():
        print(result.line({name: results[name] for name in BASELINES.get(path, ()) if name in results}))
    print(f"machine speed after: {machine_speed()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--bootstrap", help="an existing broker (default: start a local one)")
    parser.add_argument("--database-url", help="an existing, migrated households database (default: a scratch one)")
    parser.add_argument("--audit-database-url", help="an existing, migrated audit database (default: a scratch one)")
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--tracer", choices=("sdk", "api"), default="sdk", help="a service's tracer provider, or none")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE[0], help="CONSUMER_BATCH_SIZE")
    arguments = parser.parse_args()
    if set(RAW_AUDIT_PATHS) & set(arguments.paths.split(",")) and arguments.audit_database_url:
        parser.error("raw_audit deletes the log entries it appends: it runs on the scratch audit database only")
    asyncio.run(main(arguments))
