"""Benchmark: what one transaction of audit's consumer costs before any event, against a bare round trip.

    .venv/bin/python bench/transaction_cost.py [--sizes 1,2,5,10,30,100] [--events 600] [--database-url URL]

In one run, on PostgreSQL (a scratch audit database unless `--database-url` names a migrated one):

- `raw`: a bare asyncpg connection answering `SELECT 1`, the cost of one round trip (CPU of this process, wall);
- the platform: audit's handlers of D-grade `HouseholdProblemFound` events reported long after they were found (a
  finding, a task and a referral; a finding of late reporting and its task; the log's entries and the events audit
  publishes) applied through the consumer runner's `Applier` (inbox, spans, metrics), `--events` events in
  transactions of each size, the relay leading in this process as in a service (no `NOTIFY` a commit).

It prints CPU and wall time a transaction and an event for each size, and a transaction of one event in round
trips: at 500 findings a second audit's transactions hold a few events each, so what a transaction costs before its
events is most of audit's CPU (see bench/README.md, stop 22).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import date
from itertools import count

import asyncpg
from aiokafka import ConsumerRecord
from consumer_paths import problem_envelopes
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.audit.handlers import build_handlers
from services.audit.settings import AuditSettings
from shared.contracts import HOUSEHOLDS_TOPIC
from shared.db import create_engine
from shared.local.databases import admin_url, asyncpg_options, scratch_database
from shared.messaging.applying import Applier, Work
from shared.messaging.handlers import HandlerRegistry
from shared.messaging.outbox import OutboxSignal, session_info
from shared.migrations import upgrade_to_head
from shared.tracing import configure_tracing

FOUND_LONG_AGO = date(2020, 5, 12)


async def round_trip_us(url: str, times: int = 3000) -> tuple[float, float]:
    """CPU of this process and wall time (µs) of one bare asyncpg `SELECT 1`."""
    conn = await asyncpg.connect(**asyncpg_options(url))
    try:
        for _ in range(200):
            await conn.fetchval("SELECT 1")
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(times):
            await conn.fetchval("SELECT 1")
        return (time.process_time() - cpu) / times * 1e6, (time.perf_counter() - wall) / times * 1e6
    finally:
        await conn.close()


def works(handlers: HandlerRegistry, offsets: count[int], n: int) -> list[Work]:
    """`n` problems as the consumer runner hands them to the applier."""
    batch = []
    for env in problem_envelopes(n, found_on=FOUND_LONG_AGO):
        key, headers = env.subject.encode(), env.to_headers()
        record = ConsumerRecord(HOUSEHOLDS_TOPIC, 0, next(offsets), 0, 0, key, env.data, None, 0, 0, headers)
        application = handlers.bind(HOUSEHOLDS_TOPIC, env)
        assert application is not None
        batch.append(Work(record, env, application))
    return batch


async def measure(url: str, sizes: list[int], events: int) -> None:
    raw_cpu, raw_wall = await round_trip_us(url)
    print(f"raw: one asyncpg round trip (SELECT 1): {raw_cpu:.0f} µs of CPU, {raw_wall:.0f} µs wall")
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine, "audit")
        signal = OutboxSignal()
        signal.relay_leads_here = True
        sessions = async_sessionmaker(engine, expire_on_commit=False, info=session_info(signal))
        handlers = build_handlers(AuditSettings(database_url=url))
        applier = Applier(
            name="audit", handlers=handlers, sessions=sessions, dead_letters=None,  # type: ignore[arg-type]
            max_attempts=5, backoff_s=0.2,
        )  # fmt: skip
        offsets = count()
        await applier.apply_batch(works(handlers, offsets, 50))  # warm: statements prepared, caches filled
        print("| events a transaction | CPU a transaction | CPU an event | wall a transaction |")
        print("| --- | --- | --- | --- |")
        for size in sizes:
            batches = [works(handlers, offsets, size) for _ in range(max(1, events // size))]
            cpu, wall = time.process_time(), time.perf_counter()
            for batch in batches:
                await applier.apply_batch(batch)
            cpu, wall = (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000
            per_tx = cpu / len(batches)
            print(f"| {size} | {per_tx:.2f} ms | {per_tx / size:.3f} ms | {wall / len(batches):.2f} ms |")
            if size == 1:
                print(f"(one event's transaction: {per_tx * 1000 / raw_cpu:.0f} bare round trips of CPU)")
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    configure_tracing("audit")  # the provider a service runs, exporting nowhere
    sizes = [int(size) for size in args.sizes.split(",")]
    if args.database_url:
        await measure(args.database_url, sizes, args.events)
        return
    async with scratch_database(admin_url(), "bench_tx") as url:
        await measure(url, sizes, args.events)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1,2,5,10,30,100", help="events a transaction, comma-separated")
    p.add_argument("--events", type=int, default=600, help="events applied at each size")
    p.add_argument("--database-url", help="a migrated audit database (kept), not a scratch one")
    return p


if __name__ == "__main__":
    asyncio.run(main(parser().parse_args()))
