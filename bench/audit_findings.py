"""Benchmark: findings through Kafka into audit; finding-to-referral latency against the raw round trip, and the
rate at which it crosses 200 ms.

Audit runs as a real process (`poverty serve audit`) on a fresh PostgreSQL database (or `--database-url`),
consuming from a real Kafka broker. First the raw baseline: the same records (a `HouseholdProblemFound`
envelope: value, key and headers) produced with the platform's producer settings to a topic of their own and
read back by a bare aiokafka consumer, at the same rate. Then the platform: N `HouseholdProblemFound` events for
distinct households, each a D-grade house (severe: audit records a finding, opens a task and refers it at
once) found on 2020-05-12 (reported late: audit also opens a finding of late reporting, 迟报, and its task),
paced at a target rate, and `audit.events` read back; then the rate steps up (`--step`) for
`--step-seconds` each until p99 passes `--ceiling-ms`, or the publisher or audit falls behind the offered rate
(if that happens at the goal rate already, the rate steps down until it does not).

Latency, per household = time the `DisciplineReferralMade` event for it is read from `audit.events`
minus the time just before its problem event was handed to the producer. It spans: Kafka in, audit's
consumer (inbox + two findings + two tasks + referral + log entries, one transaction), the outbox relay, Kafka
out. With `--raw-audit`, the raw libraries doing the same writes (`_raw_audit.py`) are timed too, before it.

    .venv/bin/python bench/audit_findings.py                      # 10,000 findings at 500/s, then +250/s steps
    .venv/bin/python bench/audit_findings.py --count 2000 --rate 200 --step 0 --kafka 127.0.0.1:9092

With `--area-officer` the problems' township has its officer, as a district sets one for each: every finding names
them, and each assignment and referral notifies them (three notifications a problem).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import _raw_audit
import asyncpg
from _findings_flow import (
    Watch,
    audit_processes,
    kafka_broker,
    migrate_audit,
    p50_p99_max,
    problem_envelope,
    record_key,
    referral_subject,
    send_paced,
    set_township_officer,
    wait_for,
    watching,
)
from aiokafka import AIOKafkaProducer
from cpu import CpuBill, CpuMeter, machine_speed

from shared.contracts import ALL_TOPICS, AUDIT_TOPIC, HOUSEHOLDS_TOPIC
from shared.local.databases import admin_url, asyncpg_options, scratch_database
from shared.messaging.kafka import ensure_topics, make_consumer, make_producer

__all__ = ["problem_envelope"]  # bench/audit_consumer.py feeds the same records

RAW_TOPIC = "bench.raw-round-trip"
KEEP_UP = 0.95  # a step whose publisher or end-to-end rate is below this share of the offered rate fell behind


@dataclass
class Step:
    """One paced run: what was offered, what came back, and when."""

    rate: float
    count: int
    send_s: float
    total_s: float
    watch: Watch
    bill: CpuBill | None = None

    @property
    def published_per_s(self) -> float:
        return self.count / self.send_s

    @property
    def drained_per_s(self) -> float:
        return self.watch.read_back() / self.total_s

    @property
    def quantiles(self) -> tuple[float, float, float]:
        return p50_p99_max(self.watch.latencies_ms())

    def kept_up(self, ceiling_ms: float) -> bool:
        return (
            self.watch.read_back() == self.count
            and self.quantiles[1] <= ceiling_ms
            and min(self.published_per_s, self.drained_per_s) >= KEEP_UP * self.rate
        )


async def paced(producer: AIOKafkaProducer, topic: str, watch: Watch, count: int, rate: float, timeout: float) -> Step:
    envelopes = [problem_envelope(uuid.uuid4()) for _ in range(count)]
    watch.clear()
    started = time.perf_counter()
    send_s = await send_paced(producer, topic, watch, envelopes, rate)
    await wait_for(watch, count, timeout)
    total_s = watch.elapsed_s(started)
    return Step(rate, count, send_s, total_s, Watch(dict(watch.sent_at), dict(watch.seen_at), marks=dict(watch.marks)))


async def raw_round_trip(bootstrap: str, producer: AIOKafkaProducer, count: int, rate: float) -> Step:
    """The same records produced and consumed by bare aiokafka, nothing in between."""
    async with watching(bootstrap, RAW_TOPIC, record_key) as watch:
        await paced(producer, RAW_TOPIC, watch, 20, 20.0, timeout=60)  # warm-up, as for the platform
        return await paced(producer, RAW_TOPIC, watch, count, rate, timeout=60)


async def raw_audit_round_trip(
    bootstrap: str, producer: AIOKafkaProducer, database_url: str, count: int, rate: float
) -> Step:
    """The raw libraries doing audit's part between two topics of their own (`_raw_audit.apply_and_relay`: a bare
    consumer, asyncpg writing what audit writes, a producer with the relay's settings), on a database of their own
    (audit's relay would otherwise send their outbox rows)."""
    run = uuid.uuid4().hex[:8]
    topic_in, topic_out = f"bench.raw-audit-in-{run}", f"bench.raw-audit-out-{run}"
    await ensure_topics(bootstrap, [topic_in, topic_out])
    connections = (
        await asyncpg.connect(**asyncpg_options(database_url)),
        await asyncpg.connect(**asyncpg_options(database_url)),
    )
    sender = make_producer(bootstrap, client_id="bench-raw-audit")
    consumer = make_consumer(bootstrap, group_id=f"bench-raw-audit-{run}", topics=[topic_in])
    await sender.start()
    await consumer.start()
    applying = asyncio.create_task(_raw_audit.apply_and_relay(connections, consumer, sender, topic_out, run))
    try:
        async with watching(bootstrap, topic_out, referral_subject) as watch:
            await paced(producer, topic_in, watch, 20, 20.0, timeout=60)  # warm-up, as for the platform
            return await paced(producer, topic_in, watch, count, rate, timeout=60)
    finally:
        applying.cancel()
        await asyncio.gather(applying, return_exceptions=True)
        await consumer.stop()
        await sender.stop()
        await asyncio.gather(*(c.close() for c in connections))


async def platform_steps(
    bootstrap: str, producer: AIOKafkaProducer, args: argparse.Namespace, meter: CpuMeter
) -> list[Step]:
    """The goal rate with `--count` findings, then, for `--step-seconds` each, higher rates while audit keeps up
    (or lower ones until it does, if it did not at the goal rate): the steps end where p99 crosses the ceiling."""
    steps: list[Step] = []
    async with watching(bootstrap, AUDIT_TOPIC, referral_subject) as watch:
        await paced(producer, HOUSEHOLDS_TOPIC, watch, 20, 20.0, timeout=120)  # the consumer group has joined
        rate, count, direction = args.rate, args.count, 0
        while True:
            before = await meter.read()
            step = await paced(producer, HOUSEHOLDS_TOPIC, watch, count, rate, args.timeout)
            step.bill = CpuBill.between(before, await meter.read(), count)
            report_step(step)
            steps.append(step)
            kept_up = step.kept_up(args.ceiling_ms)
            direction = direction or (1 if kept_up else -1)
            rate += direction * args.step
            if not args.step or kept_up != (direction > 0) or not 0 < rate <= args.max_rate:
                return steps
            count = int(rate * args.step_seconds)


def report_step(step: Step) -> None:
    p50, p99, high = step.quantiles
    print(f"\n{step.count} findings offered at {step.rate:.0f}/s (published at {step.published_per_s:.0f}/s)")
    print(f"  referrals read back     {step.watch.read_back()} of {step.count}")
    print(f"  throughput              {step.drained_per_s:.0f} findings/s end to end ({step.total_s:.1f} s in all)")
    print(f"  latency p50 / p99 / max {p50:.0f} / {p99:.0f} / {high:.0f} ms")
    legs = ", ".join(f"{leg} {mid:.1f} / {top:.1f}" for leg, (mid, top) in step.watch.stages_ms().items())
    print(f"  by leg, p50 / p99 ms:   {legs}")
    parts = " ".join(f"{mid:.0f}/{top:.0f}" for mid, top in step.watch.timeline())
    print(f"  over the run, by tenths p50/max ms: {parts}")
    if step.bill:
        print("  " + "\n  ".join(step.bill.lines("finding", load_generator="benchmark process")))


def summary(raw: Step, raw_audit: Step | None, steps: list[Step], ceiling_ms: float) -> None:
    raw_p50, raw_p99, raw_max = raw.quantiles
    size = len(problem_envelope(uuid.uuid4()).data)
    print(f"\nraw produce -> consume, {raw.count} records ({size}-byte values, the same key and headers) at")
    print(f"{raw.rate:.0f}/s: p50 / p99 / max {raw_p50:.1f} / {raw_p99:.1f} / {raw_max:.1f} ms")
    if raw_audit is not None:
        p50, p99, high = raw_audit.quantiles
        print(f"the raw libraries doing audit's part in between ({raw_audit.count} at {raw_audit.rate:.0f}/s, ", end="")
        print(
            f"{raw_audit.drained_per_s:.0f}/s end to end): p50 / p99 / max {p50:.1f} / {p99:.1f} / {high:.1f} ms, ",
            end="",
        )
        print(f"p99 {p99 / raw_p99:.1f} x raw")
    print("\n| offered/s | published/s | end to end/s | p50 ms | p99 ms | max ms | p99 / raw p99 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for step in steps:
        p50, p99, high = step.quantiles
        print(
            f"| {step.rate:,.0f} | {step.published_per_s:,.0f} | {step.drained_per_s:,.0f} | {p50:,.0f} | {p99:,.0f} "
            f"| {high:,.0f} | {p99 / raw_p99:.1f} |"
        )
    kept = [s.rate for s in steps if s.kept_up(ceiling_ms)]
    behind = [s.rate for s in steps if not s.kept_up(ceiling_ms)]
    ceiling = f"p99 within {ceiling_ms:.0f} ms, audit keeping up"
    if not behind:
        print(f"{ceiling} up to {max(kept):,.0f}/s, the highest rate offered")
    elif not kept:
        print(f"{ceiling}: at no rate offered, down to {min(behind):,.0f}/s")
    else:
        above = min((r for r in behind if r > max(kept)), default=None)
        print(f"{ceiling} at {max(kept):,.0f}/s" + (f", not at {above:,.0f}/s" if above else ""))


async def run(bootstrap: str, args: argparse.Namespace, meter: CpuMeter) -> None:
    producer = make_producer(bootstrap, client_id="bench")
    await producer.start()
    try:
        await ensure_topics(bootstrap, [RAW_TOPIC])
        speed_before = machine_speed()
        gc.freeze()  # the load generator's full collections would otherwise add its own pauses to the latencies
        raw = await raw_round_trip(bootstrap, producer, args.raw_count, args.rate)
        raw_audit = None
        if args.raw_audit:
            async with scratch_database(args.admin_url, "bench_raw_audit") as url:
                await migrate_audit(url)
                raw_audit = await raw_audit_round_trip(bootstrap, producer, url, args.raw_count, args.rate)
        steps = await platform_steps(bootstrap, producer, args, meter)
        summary(raw, raw_audit, steps, args.ceiling_ms)
        print(f"machine speed: before the run {speed_before}; after it {machine_speed()}")
    finally:
        await producer.stop()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        workdir = Path(tmp)
        async with kafka_broker(args.kafka, workdir) as (bootstrap, broker_pid):
            await ensure_topics(bootstrap, ALL_TOPICS)
            if args.database_url:
                await measure(args.database_url, bootstrap, broker_pid, workdir, args)
                return
            async with scratch_database(args.admin_url, "bench_audit") as url:
                await measure(url, bootstrap, broker_pid, workdir, args)


async def measure(url: str, bootstrap: str, broker_pid: int | None, workdir: Path, args: argparse.Namespace) -> None:
    await migrate_audit(url)
    if args.area_officer:
        await set_township_officer(url)
    async with audit_processes(url, bootstrap, workdir, args.replicas) as pids:
        named = {"audit process": pids[0]} if len(pids) == 1 else {f"audit {n + 1}": p for n, p in enumerate(pids)}
        await run(bootstrap, args, CpuMeter({**named, "Kafka broker": broker_pid}, database_url=url))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=10_000, help="findings to publish at --rate (distinct households)")
    p.add_argument("--rate", type=float, default=500.0, help="target publication rate, findings per second")
    p.add_argument("--raw-count", type=int, default=5_000, help="records of the raw round trip, at --rate")
    p.add_argument("--step", type=float, default=250.0, help="raise the rate by this much while p99 holds (0: once)")
    p.add_argument("--step-seconds", type=float, default=10.0, help="how long each higher rate is offered")
    p.add_argument("--ceiling-ms", type=float, default=200.0, help="the p99 at which the stepping stops")
    p.add_argument("--max-rate", type=float, default=5_000.0, help="the highest rate offered")
    p.add_argument("--kafka", default=os.environ.get("BENCH_KAFKA_BOOTSTRAP"), help="use this broker, not a new one")
    p.add_argument("--admin-url", default=admin_url(), help="PostgreSQL where the scratch database is created")
    p.add_argument("--database-url", help="an existing audit database (migrated to head and kept), not a scratch one")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the last referral of a step")
    p.add_argument("--replicas", type=int, default=1, help="audit processes sharing the topic's partitions (1-3)")
    p.add_argument("--area-officer", action="store_true", help="the problems' township has an officer, notified")
    p.add_argument(
        "--raw-audit", action="store_true", help="also time the raw libraries doing audit's part (`_raw_audit.py`)"
    )
    return p


if __name__ == "__main__":
    asyncio.run(main(parser().parse_args()))
