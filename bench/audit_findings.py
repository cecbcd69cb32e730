"""Benchmark: findings through Kafka into audit; throughput and finding-to-referral latency p50/p99.

Audit runs as a real process (`poverty serve audit`) on a fresh PostgreSQL database, consuming from a real
Kafka broker. The benchmark publishes N `HouseholdProblemFound` events for distinct households, each a
D-grade house (severe: audit records a finding, opens a task and refers it at once), paced at a target
rate, and reads `audit.events` back.

Latency, per household = time the `DisciplineReferralMade` event for it is read from `audit.events`
minus the time just before its problem event was handed to the producer. It spans: Kafka in, audit's
consumer (inbox + finding + task + referral + log entries, one transaction), the outbox relay, Kafka out.

    .venv/bin/python bench/audit_findings.py                      # 10,000 findings at 500/s, local broker
    .venv/bin/python bench/audit_findings.py --count 2000 --rate 200 --kafka 127.0.0.1:9092
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from cpu import CpuBill, CpuMeter, machine_speed

from shared.contracts import ALL_TOPICS, AUDIT_TOPIC, HOUSEHOLDS_TOPIC
from shared.contracts.audit import DisciplineReferralMade
from shared.contracts.households import HouseholdProblemFound, ProblemCategory
from shared.db import create_engine
from shared.local.databases import admin_url, scratch_database
from shared.local.kafka import LocalKafka, free_port
from shared.local.processes import ServiceProcess, service_env
from shared.messaging.cloudevents import Envelope
from shared.messaging.kafka import ensure_topics, make_producer
from shared.migrations import upgrade_to_head

REFERRAL_TYPE = DisciplineReferralMade.event_type.encode()


def problem_envelope(household: uuid.UUID) -> Envelope:
    event = HouseholdProblemFound(
        household_id=household,
        problem_id=uuid.uuid4(),
        visit_id=uuid.uuid4(),
        area_code="371523101201",
        category=ProblemCategory.HOUSING,
        code="housing_unsafe",
        description="Housing appraised grade D (unsafe) at the visit.",
        housing_grade="D",
        found_on=date(2020, 5, 12),
        found_by="bench",
    )
    return Envelope(
        id=str(uuid.uuid4()),
        type=event.event_type,
        source="/bench",
        subject=event.aggregate_id(),
        time=datetime.now(UTC),
        data=event.model_dump_json().encode(),
    )


@dataclass
class Watch:
    """Referrals read back from audit.events, by household (the finding's subject)."""

    sent_at: dict[str, float] = field(default_factory=dict)
    seen_at: dict[str, float] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def latencies_ms(self) -> list[float]:
        return sorted((self.seen_at[k] - self.sent_at[k]) * 1000 for k in self.seen_at if k in self.sent_at)

    def timeline(self, parts: int = 10) -> list[tuple[float, float]]:
        """p50 and max latency (ms) of each successive `parts`-th of the findings, in the order they were sent:
        says whether a tail is the start, a steady queue or a stall somewhere in the run."""
        sent = sorted((at, k) for k, at in self.sent_at.items() if k in self.seen_at)
        size = max(1, len(sent) // parts)
        slices = [sent[i : i + size] for i in range(0, len(sent), size)]
        spans = [sorted((self.seen_at[k] - at) * 1000 for at, k in part) for part in slices]
        return [(statistics.median(span), span[-1]) for span in spans]


async def watch_referrals(bootstrap: str, watch: Watch, ready: asyncio.Event) -> None:
    """Read audit.events from its current end (every partition), noting when each referral arrives."""
    consumer = AIOKafkaConsumer(AUDIT_TOPIC, bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        while not consumer.assignment():  # without a group, all partitions are assigned once metadata arrives
            await consumer.getmany(timeout_ms=100)
        await consumer.seek_to_end()
        for partition in consumer.assignment():
            await consumer.position(partition)  # resolve "end" now, before anything is published
        ready.set()
        while True:
            for records in (await consumer.getmany(timeout_ms=100, max_records=1000)).values():
                now = time.perf_counter()
                for record in records:
                    if dict(record.headers).get("ce_type") == REFERRAL_TYPE:
                        subject = DisciplineReferralMade.model_validate_json(record.value).subject_id
                        watch.seen_at.setdefault(subject, now)
                watch.arrived.set()
    finally:
        await consumer.stop()


async def send_paced(producer: AIOKafkaProducer, watch: Watch, count: int, rate: float) -> float:
    """Publish `count` problems at `rate` per second; returns the seconds it took."""
    envelopes = [problem_envelope(uuid.uuid4()) for _ in range(count)]
    started = time.perf_counter()
    pending = []
    for n, env in enumerate(envelopes):
        due = started + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        watch.sent_at[env.subject] = time.perf_counter()
        pending.append(
            await producer.send(HOUSEHOLDS_TOPIC, env.data, key=env.subject.encode(), headers=env.to_headers())
        )
    await asyncio.gather(*pending)
    return time.perf_counter() - started


async def wait_for(watch: Watch, count: int, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while len(watch.seen_at) < count and time.perf_counter() < deadline:
        watch.arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watch.arrived.wait(), 1.0)


@contextlib.asynccontextmanager
async def kafka_broker(given: str | None, workdir: Path) -> AsyncIterator[tuple[str, int | None]]:
    """The bootstrap address, and the broker's process id when it is ours."""
    if given:
        yield given, None
        return
    async with LocalKafka(data_dir=workdir / "kafka") as broker:
        yield broker.bootstrap_servers, broker.pid


@contextlib.asynccontextmanager
async def audit_processes(database_url: str, bootstrap: str, workdir: Path, replicas: int) -> AsyncIterator[list[int]]:
    """Start `replicas` audit processes (as Kubernetes scales the Deployment); yield their process ids once
    they all consume (each has joined the consumer group)."""
    processes = []
    try:
        for n in range(replicas):
            port = free_port()
            env = service_env(
                "audit", database_url=database_url, kafka=bootstrap, port=port, environment="test", log_level="WARNING"
            )
            processes.append(ServiceProcess("audit", port, env, workdir / f"audit-{n}.log"))
            processes[-1].start()
        for process in processes:
            await asyncio.to_thread(process.wait_ready)
        await group_has_members(bootstrap, "audit", replicas)
        yield [p.pid for p in processes if p.pid is not None]
    finally:
        for process in processes:
            process.stop()


async def group_has_members(bootstrap: str, group: str, members: int, timeout_s: float = 120.0) -> None:
    """Wait until the consumer group is stable with `members` members (no rebalance during the timed run)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                (described,) = (await admin.describe_consumer_groups([group]))[0].to_object()["groups"]
                if described["state"] == "Stable" and len(described["members"]) == members:
                    return
                await asyncio.sleep(0.5)
    finally:
        await admin.close()


def report(watch: Watch, count: int, rate: float, send_s: float, total_s: float) -> None:
    latencies = watch.latencies_ms()
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    print(f"findings published      {count} at a target of {rate:.0f}/s (achieved {count / send_s:.0f}/s)")
    print(f"referrals read back     {len(latencies)} of {count}")
    print(f"throughput              {len(latencies) / total_s:.0f} findings/s end to end ({total_s:.1f} s in all)")
    print("latency measured        problem event handed to the producer -> DisciplineReferralMade read from")
    print("                        audit.events (consumer transaction + outbox relay + Kafka twice)")
    print(f"latency p50 / p99 / max {quantiles[49]:.0f} / {quantiles[98]:.0f} / {latencies[-1]:.0f} ms")
    parts = " ".join(f"{p50:.0f}/{high:.0f}" for p50, high in watch.timeline())
    print(f"over the run, by tenths p50/max ms: {parts}")


async def migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine, "audit")
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        workdir = Path(tmp)
        async with (
            kafka_broker(args.kafka, workdir) as (bootstrap, broker_pid),
            scratch_database(args.admin_url, "bench_audit") as url,
        ):
            await migrate(url)
            await ensure_topics(bootstrap, ALL_TOPICS)
            async with audit_processes(url, bootstrap, workdir, args.replicas) as pids:
                named = (
                    {"audit process": pids[0]}
                    if len(pids) == 1
                    else {f"audit {n + 1}": pid for n, pid in enumerate(pids)}
                )
                meter = CpuMeter({**named, "Kafka broker": broker_pid}, database_url=url)
                await run(bootstrap, args, meter)


async def run(bootstrap: str, args: argparse.Namespace, meter: CpuMeter) -> None:
    watch, ready = Watch(), asyncio.Event()
    watcher = asyncio.create_task(watch_referrals(bootstrap, watch, ready))
    producer = make_producer(bootstrap, client_id="bench")
    await producer.start()
    try:
        await asyncio.wait([watcher, asyncio.create_task(ready.wait())], return_when=asyncio.FIRST_COMPLETED)
        if watcher.done():
            watcher.result()  # the watcher failed before it was ready: raise its error
        await send_paced(producer, watch, 20, 20.0)  # warm-up: the consumer group has joined once these return
        await wait_for(watch, 20, timeout=120)
        watch.sent_at.clear()
        watch.seen_at.clear()
        speed_before = machine_speed()
        gc.freeze()  # the load generator's full collections would otherwise add its own pauses to the latencies
        started, cpu_before = time.perf_counter(), await meter.read()
        send_s = await send_paced(producer, watch, args.count, args.rate)
        await wait_for(watch, args.count, timeout=args.timeout)
        total_s = (max(watch.seen_at.values()) if watch.seen_at else time.perf_counter()) - started
        bill = CpuBill.between(cpu_before, await meter.read(), args.count)
        report(watch, args.count, args.rate, send_s, total_s)
        print("\n".join(bill.lines("finding", load_generator="benchmark process")))
        print(f"machine speed: before the run {speed_before}; after it {machine_speed()}")
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await producer.stop()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=10_000, help="findings to publish (distinct households)")
    p.add_argument("--rate", type=float, default=500.0, help="target publication rate, findings per second")
    p.add_argument("--kafka", default=os.environ.get("BENCH_KAFKA_BOOTSTRAP"), help="use this broker, not a new one")
    p.add_argument("--admin-url", default=admin_url(), help="PostgreSQL where the scratch database is created")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the last referral")
    p.add_argument("--replicas", type=int, default=1, help="audit processes sharing the topic's partitions (1-3)")
    return p


if __name__ == "__main__":
    asyncio.run(main(parser().parse_args()))
