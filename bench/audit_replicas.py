"""Benchmark: audit scaled out. One, then two audit processes in one consumer group drain the same size of
backlog of severe findings from a topic of several partitions; the ratio says how much a second replica adds.

    .venv/bin/python bench/audit_replicas.py [--count 10000] [--partitions 6]

Starts a local Kafka broker whose `households.events` has `--partitions` partitions. Each round (one replica,
then two) gets a fresh PostgreSQL database, shared by its replicas as the pods of one Deployment share theirs,
starts the audit processes (`poverty serve audit`), waits until the consumer group is stable with all of them,
publishes `--count` D-grade `HouseholdProblemFound` events for distinct households as fast as the producer takes
them (far faster than audit applies them: a backlog), and times from the first send until the last
`DisciplineReferralMade` is read back from `audit.events`. Prints findings/s for each round, the ratio, and the
CPU each finding cost by process, with the machine's speed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from _findings_flow import (
    audit_processes,
    migrate_audit,
    problem_envelope,
    referral_subject,
    send_paced,
    wait_for,
    watching,
)
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from cpu import CpuBill, CpuMeter, machine_speed

from shared.contracts import ALL_TOPICS, AUDIT_TOPIC, HOUSEHOLDS_TOPIC
from shared.local.databases import admin_url, scratch_database
from shared.local.kafka import LocalKafka
from shared.messaging.kafka import ensure_topics, make_producer, topic_config


async def partitioned_topics(bootstrap: str, partitions: int) -> None:
    """`households.events` with `partitions` partitions (the replicas' unit of work), the others as usual."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(HOUSEHOLDS_TOPIC, partitions, 1, topic_configs=topic_config(HOUSEHOLDS_TOPIC))]
        )
    finally:
        await admin.close()
    await ensure_topics(bootstrap, ALL_TOPICS)


async def drain(
    bootstrap: str, broker_pid: int | None, replicas: int, args: argparse.Namespace, workdir: Path
) -> float:
    """One round: `replicas` audit processes drain `--count` findings; returns findings/s."""
    async with (
        scratch_database(args.admin_url, "bench_audit_replicas") as url,
        watching(bootstrap, AUDIT_TOPIC, referral_subject) as watch,
    ):
        await migrate_audit(url)
        async with audit_processes(url, bootstrap, workdir / f"round-{replicas}", replicas) as pids:
            meter = CpuMeter({**{f"audit {n + 1}": p for n, p in enumerate(pids)}, "Kafka broker": broker_pid}, url)
            producer = make_producer(bootstrap, client_id="bench")
            await producer.start()
            try:
                await send_paced(
                    producer, HOUSEHOLDS_TOPIC, watch, [problem_envelope(uuid.uuid4()) for _ in range(20)], 20
                )
                await wait_for(watch, 20, timeout=120)  # warm-up: every replica has had its partitions
                watch.clear()
                backlog = [problem_envelope(uuid.uuid4()) for _ in range(args.count)]
                before, started = await meter.read(), time.perf_counter()
                send_s = await send_paced(producer, HOUSEHOLDS_TOPIC, watch, backlog, 0)
                await wait_for(watch, args.count, timeout=args.timeout)
                total_s = watch.elapsed_s(started)
                bill = CpuBill.between(before, await meter.read(), args.count)
            finally:
                await producer.stop()
    rate = watch.read_back() / total_s
    print(f"\n{replicas} audit process(es): {args.count:,} findings published in {send_s:.1f} s")
    print(f"  referrals read back {watch.read_back():,} of {args.count:,}")
    print(f"  drained at {rate:,.0f} findings/s ({total_s:.1f} s from the first send to the last referral)")
    print("  " + "\n  ".join(bill.lines("finding", load_generator="benchmark process")))
    return rate


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
        async with LocalKafka(data_dir=Path(tmp) / "kafka") as broker:
            await partitioned_topics(broker.bootstrap_servers, args.partitions)
            print(f"{args.count:,} findings a round; {HOUSEHOLDS_TOPIC} of {args.partitions} partitions")
            print(f"machine speed before: {machine_speed()}")
            one = await drain(broker.bootstrap_servers, broker.pid, 1, args, Path(tmp))
            two = await drain(broker.bootstrap_servers, broker.pid, 2, args, Path(tmp))
            print(f"\ntwo replicas / one: {two / one:.2f} ({one:,.0f} and {two:,.0f} findings/s)")
            print(f"machine speed after: {machine_speed()}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=10_000, help="findings each round drains (distinct households)")
    p.add_argument("--partitions", type=int, default=6, help=f"partitions of {HOUSEHOLDS_TOPIC}")
    p.add_argument("--admin-url", default=admin_url(), help="PostgreSQL where each round's database is created")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the last referral of a round")
    return p


if __name__ == "__main__":
    asyncio.run(main(parser().parse_args()))
