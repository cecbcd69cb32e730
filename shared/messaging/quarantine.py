"""The quarantine: a record the Kafka client cannot unpack is kept in the service's database; its partition moves on.

aiokafka unpacks records as it hands them over; one it cannot read (a header key that is not UTF-8, a codec not
installed, a batch whose CRC does not match) fails every read of its partition, and of every record after it in its
batch, for good. So the consumer, when a partition cannot be read from the offset it has done up to, fetches that
stretch's raw record batch from the partition's leader itself (the client's own fetch request, on its connection)
and reads it record by record (`shared.messaging.record_batches`):

- the unreadable records at the front are kept in `quarantined_record`, one row per record, or one row for the rest
  of the batch when the batch as a whole cannot be opened (its codec, its CRC): the row's offset is the first it
  covers and `error_where` names the batch's offsets. Each row holds the whole batch's bytes exactly as the broker
  sent them, so an operator can inspect it and, once the client can read it, replay it (`poverty quarantine`);
- the offset past them is committed only once those rows are, so a database that is down leaves the partition
  where it was (it stalls, nothing is skipped), and reading the same stretch again keeps nothing twice;
- the readable records after them, up to the next unreadable one or the batch's end, are handed back to be applied
  in order; the next round goes on from there.

A record that can be read but not used (not a CloudEvent, invalid by its contract) is no concern of this module: it
is poison, and goes to the dead-letter topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from itertools import takewhile

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError, NoError, for_code
from aiokafka.protocol.fetch import FetchRequest
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from shared.db import unit_of_work
from shared.messaging.quarantine_records import QuarantinedRecord
from shared.messaging.record_batches import RawBatch, Record, Unreadable, read, split
from shared.metrics import RECORDS_QUARANTINED
from shared.timeutil import utcnow

FETCH_BYTES = 1 << 20  # the broker sends the first batch whole even when it is larger (KIP-74)
READ_COMMITTED = 1  # the platform's consumers read committed records only (shared.messaging.kafka)
ABORT = 0  # a control record's type: the producer's transaction was aborted


@dataclass(frozen=True)
class Salvage:
    """What a partition gives from the offset it cannot be read at: `kept`, the unreadable records at the front (of
    `batch`), to quarantine; `past_kept`, the offset after them; `records`, the readable ones that follow them, to
    apply; `resume_at`, where the partition is read on from."""

    batch: RawBatch
    kept: list[Unreadable]
    past_kept: int
    records: list[ConsumerRecord[bytes, bytes]]
    resume_at: int


async def fetch_batches(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> list[RawBatch]:
    """The raw record batches of `tp` from the one holding `offset`, as its leader sends them, without those of
    aborted transactions and the control batches (as the consumer reads them)."""
    client = consumer._client  # the consumer's own connections: aiokafka offers no public way to raw bytes
    leader = client.cluster.leader_for_partition(tp)
    if leader is None or leader < 0:
        raise KafkaError("no leader known for the partition")
    request = FetchRequest(0, 1, FETCH_BYTES, READ_COMMITTED, [(tp.topic, [(tp.partition, offset, FETCH_BYTES)])])
    response = await client.send(leader, request)
    for _, partitions in response.topics:
        for _, error_code, _, *data in partitions:
            error = for_code(error_code)
            if error is not NoError:
                raise error()
            # The layouts by version, as aiokafka's fetcher reads them: v11 adds a field after the aborted ones.
            aborted = data[2] if response.API_VERSION >= 11 else data[-2] if response.API_VERSION >= 4 else None
            return _committed(split(bytes(data[-1])), aborted or [])
    return []


def _committed(batches: list[RawBatch], aborted: list[tuple[int, int]]) -> list[RawBatch]:
    """The batches a read-committed consumer reads: not those of an aborted transaction, no control batch."""
    pending = sorted(aborted, key=lambda producer_first: producer_first[1])
    aborting: set[int] = set()
    kept: list[RawBatch] = []
    for batch in batches:
        while pending and pending[0][1] <= batch.base_offset:
            aborting.add(pending.pop(0)[0])
        if batch.is_control:
            if any(isinstance(r, Record) and _is_abort_marker(r) for r in read(batch)):
                aborting.discard(batch.producer_id)
        elif not (batch.is_transactional and batch.producer_id in aborting):
            kept.append(batch)
    return kept


def _is_abort_marker(record: Record) -> bool:
    return record.key is not None and len(record.key) >= 4 and int.from_bytes(record.key[2:4], "big") == ABORT


def salvage(tp: TopicPartition, batches: list[RawBatch], offset: int) -> Salvage | None:
    """What the first batch holding records from `offset` gives (None: nothing there yet)."""
    for batch in batches:
        entries = [e for e in read(batch) if _last(e) >= offset]
        if not entries:
            continue
        leading = takewhile(lambda e: isinstance(e, Unreadable), entries)
        kept = [_from(u, offset) for u in leading if isinstance(u, Unreadable)]
        following = list(takewhile(lambda e: isinstance(e, Record), entries[len(kept) :]))
        after = entries[len(kept) + len(following) :]
        return Salvage(
            batch=batch,
            kept=kept,
            past_kept=_first(entries[len(kept)]) if len(kept) < len(entries) else batch.next_offset,
            records=[_consumer_record(tp, r) for r in following if isinstance(r, Record)],
            resume_at=_first(after[0]) if after else batch.next_offset,
        )
    return None


def _first(entry: Record | Unreadable) -> int:
    return entry.offset if isinstance(entry, Record) else entry.first


def _last(entry: Record | Unreadable) -> int:
    return entry.offset if isinstance(entry, Record) else entry.last


def _from(unreadable: Unreadable, offset: int) -> Unreadable:
    """The part of a span from `offset` on: what before it was done already."""
    if unreadable.first >= offset:
        return unreadable
    return Unreadable(offset, unreadable.last, unreadable.error, unreadable.whole_batch)


def _consumer_record(tp: TopicPartition, record: Record) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        tp.topic,
        tp.partition,
        record.offset,
        record.timestamp,
        record.timestamp_type,
        record.key,
        record.value,
        None,
        -1 if record.key is None else len(record.key),
        -1 if record.value is None else len(record.value),
        record.headers,
    )


def where(batch: RawBatch, unreadable: Unreadable) -> str:
    """Which records a row covers, in its batch (offsets and sizes only: nothing of the content); `covered` reads it
    back."""
    if unreadable.first == unreadable.last and not unreadable.whole_batch:
        return f"record {unreadable.first} of {batch.describe()}"
    whole = ", the batch as a whole" if unreadable.whole_batch else ""
    return f"offsets {unreadable.first}-{unreadable.last}{whole}, of {batch.describe()}"


def covered(row: QuarantinedRecord) -> range:
    """The offsets a quarantined row stands for (one record, or the rest of a batch that could not be opened)."""
    span = re.match(r"offsets (\d+)-(\d+)", row.error_where)
    return range(row.offset, int(span[2]) + 1) if span else range(row.offset, row.offset + 1)


async def keep(
    sessions: async_sessionmaker[AsyncSession], *, consumer: str, tp: TopicPartition, salvaged: Salvage, now: datetime
) -> int:
    """Quarantine the salvage's unreadable records in one transaction; returns how many were new (a stretch read
    again keeps nothing twice)."""
    rows = [
        {
            "consumer": consumer,
            "topic": tp.topic,
            "partition": tp.partition,
            "offset": unreadable.first,
            "raw": salvaged.batch.raw,
            "error_type": type(unreadable.error).__name__[:200],
            "error_where": where(salvaged.batch, unreadable)[:500],
            "quarantined_at": now,
        }
        for unreadable in salvaged.kept
    ]
    if not rows:
        return 0
    async with unit_of_work(sessions) as session:
        dialect = postgresql if session.bind is not None and session.bind.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(QuarantinedRecord).values(rows).on_conflict_do_nothing()
        added = len((await session.scalars(insert.returning(col(QuarantinedRecord.id)))).all())
    RECORDS_QUARANTINED.labels(consumer, tp.topic).inc(added)
    return added


async def open_count(session: AsyncSession) -> int:
    """Quarantined records neither replayed nor dismissed (the index on `resolved_at` answers it)."""
    count = await session.scalar(
        select(func.count()).select_from(QuarantinedRecord).where(col(QuarantinedRecord.resolved_at).is_(None))
    )
    return int(count or 0)


async def set_aside(
    consumer: AIOKafkaConsumer,
    sessions: async_sessionmaker[AsyncSession],
    *,
    name: str,
    tp: TopicPartition,
    offset: int,
) -> Salvage | None:
    """Fetch the raw batch at `offset`, where `tp` cannot be read, and quarantine its unreadable records at the
    front; None when the partition holds nothing there. Raises when the broker or the database fails: the caller's
    partition then waits where it is."""
    salvaged = salvage(tp, await fetch_batches(consumer, tp, offset), offset)
    if salvaged is not None:
        await keep(sessions, consumer=name, tp=tp, salvaged=salvaged, now=utcnow())
    return salvaged
