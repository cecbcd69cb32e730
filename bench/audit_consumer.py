"""Benchmark: audit's consumer in process, on PostgreSQL, without Kafka: CPU per severe finding.

    .venv/bin/python bench/audit_consumer.py [--batches 30] [--batch-size 100] [--area-officer]

Feeds identical batches of `HouseholdProblemFound` records (D-grade houses: a finding, a task, a referral,
three events and four log entries each) to the consumer runner the service uses, one partition's batch per
call, on a fresh migrated database, and prints this process's CPU per finding: the fastest and the median
batch, and the machine's speed (`cpu.machine_speed`) before and after. PostgreSQL's own CPU is not counted.
On a shared VM the median moves with the host; the fastest batch is the code's cost when the machine is fast.
With `--area-officer` the problems' township has its officer (as a district sets one for each), who answers for each
finding and is notified of each finding's assignment and of the referral.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

from _findings_flow import problem_envelope, set_township_officer
from aiokafka import ConsumerRecord
from cpu import machine_speed

from services.audit.handlers import build_handlers
from services.audit.settings import AuditSettings
from shared.contracts import HOUSEHOLDS_TOPIC
from shared.db import create_engine, session_factory
from shared.local.databases import admin_url, scratch_database
from shared.messaging.consumer import ConsumerRunner
from shared.migrations import upgrade_to_head


def records(count: int) -> list[ConsumerRecord[bytes, bytes]]:
    """One partition's records: a severe problem each, for distinct households."""
    envelopes = [problem_envelope(uuid.uuid4()) for _ in range(count)]
    return [
        ConsumerRecord(HOUSEHOLDS_TOPIC, 0, n, 0, 0, e.subject.encode(), e.data, None, 0, 0, e.to_headers())
        for n, e in enumerate(envelopes)
    ]


async def main(args: argparse.Namespace) -> None:
    async with scratch_database(args.admin_url, "bench_audit_consumer") as url:
        engine = create_engine(url)
        await upgrade_to_head(engine, "audit")
        if args.area_officer:
            await set_township_officer(url)
        handlers = build_handlers(AuditSettings(database_url=url))
        # No record is poison, so neither the Kafka consumer nor the dead-letter producer is reached.
        absent: None = None
        runner = ConsumerRunner(
            name="audit", handlers=handlers, sessions=session_factory(engine), consumer=absent,  # type: ignore[arg-type]
            dlq_producer=absent, batch_size=args.batch_size,  # type: ignore[arg-type]
        )  # fmt: skip
        await runner.process(records(args.batch_size))  # warm-up: statements prepared, caches filled
        speed_before = machine_speed()
        costs = []
        for _ in range(args.batches):
            batch = records(args.batch_size)
            started = time.process_time()
            outcomes = await runner.process(batch)
            costs.append(1000 * (time.process_time() - started) / len(batch))
            assert outcomes == ["applied"] * len(batch), outcomes[:3]
        await engine.dispose()
    print(f"audit consumer, CPU per severe finding over {args.batches} batches of {args.batch_size}:")
    print(f"  fastest batch {min(costs):.3f} ms, median {statistics.median(costs):.3f} ms, slowest {max(costs):.3f} ms")
    print(f"machine speed: before {speed_before}; after {machine_speed()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--admin-url", default=admin_url())
    parser.add_argument("--area-officer", action="store_true", help="the township has an officer, notified")
    asyncio.run(main(parser.parse_args()))
