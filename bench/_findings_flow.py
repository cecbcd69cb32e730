"""What the audit benchmarks share: severe findings to publish, audit processes on a broker, and a watch of the
records read back (when each was handed to the producer, when it was read).

`audit_findings.py` times findings one by one at a paced rate; `audit_replicas.py` drains a backlog with one and
two audit processes. Both read `DisciplineReferralMade` from `audit.events`; the raw baseline reads its own
records back from a topic of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient

from services.audit.domain.responsibility import set_area_officer
from shared.auth import Principal
from shared.contracts.accountability import ResponsiblePerson, ResponsibleRole
from shared.contracts.audit import DisciplineReferralMade
from shared.contracts.households import HouseholdProblemFound, ProblemCategory
from shared.db import create_engine, session_factory
from shared.local.kafka import LocalKafka, free_port
from shared.local.processes import ServiceProcess, service_env
from shared.messaging.cloudevents import Envelope
from shared.migrations import upgrade_to_head
from shared.timeutil import utcnow

REFERRAL_TYPE = DisciplineReferralMade.event_type.encode()
TOWNSHIP = "371523101"  # holds the village of every problem below
Record: TypeAlias = ConsumerRecord[bytes, bytes]


def problem_envelope(household: uuid.UUID) -> Envelope:
    """A D-grade house found at a visit: severe, so audit records a finding, opens a task and refers it at once."""
    event = HouseholdProblemFound(
        household_id=household,
        problem_id=uuid.uuid4(),
        visit_id=uuid.uuid4(),
        area_code=f"{TOWNSHIP}201",
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


async def set_township_officer(database_url: str) -> None:
    """Give the problems' township its officer, as a district sets one for each: every finding then names them, and
    they are notified of its assignment and of its referral."""
    officer = ResponsiblePerson(
        person_id="officer-101", name="王干部", unit=TOWNSHIP, role=ResponsibleRole.TOWNSHIP_OFFICER
    )
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            await set_area_officer(session, TOWNSHIP, officer, actor=Principal("bench", frozenset()), now=utcnow())
    finally:
        await engine.dispose()


def referral_subject(record: Record) -> str | None:
    """The household a `DisciplineReferralMade` record refers (None for audit's other events)."""
    if dict(record.headers).get("ce_type") != REFERRAL_TYPE or record.value is None:
        return None
    return DisciplineReferralMade.model_validate_json(record.value).subject_id


def record_key(record: Record) -> str | None:
    return None if record.key is None else record.key.decode()


@dataclass
class Marks:
    """One record's wall-clock times: handed to the producer, its event's `occurred_at` (the CloudEvents time
    of the record read back), its Kafka timestamp, read."""

    sent: float
    occurred: float | None = None
    stamped: float = 0.0
    read: float = 0.0


@dataclass
class Watch:
    """Records read back, by key (the household): when each was sent and when it was read."""

    sent_at: dict[str, float] = field(default_factory=dict)
    seen_at: dict[str, float] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    marks: dict[str, Marks] = field(default_factory=dict)

    def clear(self) -> None:
        self.sent_at.clear()
        self.seen_at.clear()
        self.marks.clear()

    def stages_ms(self) -> dict[str, tuple[float, float]]:
        """p50 and p99 (ms) of each leg, on the wall clock: Kafka in and the consumer up to the handler's
        `occurred_at`; from there through the commit and the relay to the record's timestamp (the relay's
        producer stamps it); from there through Kafka out to the reader."""
        legs: dict[str, list[float]] = {"in + consumer": [], "commit + relay": [], "Kafka out": []}
        for key, mark in self.marks.items():
            if key not in self.sent_at or mark.occurred is None:
                continue
            legs["in + consumer"].append((mark.occurred - mark.sent) * 1000)
            legs["commit + relay"].append((mark.stamped - mark.occurred) * 1000)
            legs["Kafka out"].append((mark.read - mark.stamped) * 1000)
        return {leg: p50_p99_max(values)[:2] for leg, values in legs.items() if values}

    def read_back(self) -> int:
        """How many of the records sent were read back (a reader may also see records sent before it was cleared)."""
        return sum(1 for k in self.seen_at if k in self.sent_at)

    def elapsed_s(self, started: float) -> float:
        """From `started` until the last record sent was read back (until now, if none was)."""
        return max((self.seen_at[k] for k in self.sent_at if k in self.seen_at), default=time.perf_counter()) - started

    def latencies_ms(self) -> list[float]:
        return sorted((self.seen_at[k] - self.sent_at[k]) * 1000 for k in self.seen_at if k in self.sent_at)

    def timeline(self, parts: int = 10) -> list[tuple[float, float]]:
        """p50 and max latency (ms) of each successive `parts`-th of the records, in the order they were sent:
        says whether a tail is the start, a steady queue or a stall somewhere in the run."""
        sent = sorted((at, k) for k, at in self.sent_at.items() if k in self.seen_at)
        size = max(1, len(sent) // parts)
        slices = [sent[i : i + size] for i in range(0, len(sent), size)]
        spans = [sorted((self.seen_at[k] - at) * 1000 for at, k in part) for part in slices]
        return [(statistics.median(span), span[-1]) for span in spans]


def p50_p99_max(latencies: Sequence[float]) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    if len(ordered) < 2:
        return (ordered[0],) * 3 if ordered else (float("nan"),) * 3
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return q[49], q[98], ordered[-1]


async def watch_topic(
    bootstrap: str, topic: str, watch: Watch, ready: asyncio.Event, key_of: Callable[[Record], str | None]
) -> None:
    """Read `topic` from its current end (every partition), noting when each record's key (`key_of`) arrives."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
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
                now, wall = time.perf_counter(), time.time()
                for record in records:
                    key = key_of(record)
                    if key is not None:
                        watch.seen_at.setdefault(key, now)
                        mark_read(watch, key, record, wall)
                watch.arrived.set()
    finally:
        await consumer.stop()


def mark_read(watch: Watch, key: str, record: Record, wall: float) -> None:
    mark = watch.marks.get(key)
    if mark is None or mark.read:
        return
    occurred = dict(record.headers).get("ce_time")
    mark.occurred = datetime.fromisoformat(occurred.decode()).timestamp() if occurred else None
    mark.stamped, mark.read = record.timestamp / 1000, wall


@contextlib.asynccontextmanager
async def watching(bootstrap: str, topic: str, key_of: Callable[[Record], str | None]) -> AsyncIterator[Watch]:
    """A watch of `topic`, reading from its end once this yields."""
    watch, ready = Watch(), asyncio.Event()
    watcher = asyncio.create_task(watch_topic(bootstrap, topic, watch, ready, key_of))
    try:
        await asyncio.wait([watcher, asyncio.create_task(ready.wait())], return_when=asyncio.FIRST_COMPLETED)
        if watcher.done():
            watcher.result()  # the watcher failed before it was ready: raise its error
        yield watch
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def send_paced(
    producer: AIOKafkaProducer, topic: str, watch: Watch, envelopes: Sequence[Envelope], rate: float
) -> float:
    """Publish `envelopes` at `rate` per second (as fast as the producer goes if `rate` is 0), noting when each
    was handed to the producer; returns the seconds it took."""
    started = time.perf_counter()
    pending = []
    for n, env in enumerate(envelopes):
        if rate:
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        watch.sent_at[env.subject] = time.perf_counter()
        watch.marks[env.subject] = Marks(time.time())
        pending.append(await producer.send(topic, env.data, key=env.subject.encode(), headers=env.to_headers()))
    await asyncio.gather(*pending)
    return time.perf_counter() - started


async def wait_for(watch: Watch, count: int, timeout: float) -> None:
    """Until `count` records were read back, or `timeout` seconds."""
    deadline = time.perf_counter() + timeout
    while watch.read_back() < count and time.perf_counter() < deadline:
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
                "audit",
                database_url=database_url,
                kafka=bootstrap,
                port=port,
                metrics_port="0",  # replicas on one host cannot share the default metrics port
                environment="test",
                log_level="WARNING",
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


async def migrate_audit(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine, "audit")
    finally:
        await engine.dispose()
