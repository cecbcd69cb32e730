"""The quarantine: a record the Kafka client cannot unpack is kept in the service's database; its partition moves on.

aiokafka unpacks records as it hands them over; one it cannot read (a header key that is not UTF-8, a codec not
installed, a batch whose CRC does not match) fails every read of its partition, and of every record after it in its
batch, for good. So the consumer, when a partition cannot be read from the offset it has done up to, fetches that
stretch's raw record batches from the partition's leader itself (the client's own fetch request, on its connection)
and reads them record by record (`shared.messaging.record_batches`):

- the run of unreadable records at the front, over as many of the fetched batches as it lasts, is kept in
  `quarantined_record`, one row per record, or one row for the rest of a batch that cannot be opened as a whole
  (its codec, its CRC): the row's offset is the first it covers and `error_where` names the batch's offsets. A
  record's row holds its own bytes, as a batch of that one record (its batch's header, uncompressed); a batch's row
  holds the batch exactly as the broker sent it. So each row holds its record's raw bytes once and no other
  record's, and an operator can inspect it and, once the client can read it, replay it (`poverty quarantine`);
- the offset past them is committed only once those rows are, so a database that is down leaves the partition
  where it was (it stalls, nothing is skipped), and reading the same stretch again keeps nothing twice;
- the readable records after them, up to the next unreadable one or their batch's end, are handed back to be
  applied in order; the next round goes on from there.

A record that can be read but not used (not a CloudEvent, invalid by its contract) is no concern of this module: it
is poison, and goes to the dead-letter topic.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError, NoError, for_code
from aiokafka.protocol.fetch import FetchRequest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from shared.db import insert_skipping_conflicts, unit_of_work
from shared.messaging.quarantine_records import QuarantinedRecord
from shared.messaging.record_batches import RawBatch, Record, Unreadable, read, split
from shared.metrics import RECORDS_QUARANTINED
from shared.timeutil import utcnow

FETCH_BYTES = 1 << 20  # the broker sends the first batch whole even when it is larger (KIP-74)
READ_COMMITTED = 1  # the platform's consumers read committed records only (shared.messaging.kafka)
ABORT = 0  # a control record's type: the producer's transaction was aborted
ROWS_PER_INSERT = 500  # 8 values a row: well within asyncpg's 32,767 parameters and SQLite's 32,766


@dataclass(frozen=True)
class Kept:
    """An unreadable record, or the rest of a batch, to quarantine: the span and the batch it came in."""

    batch: RawBatch
    span: Unreadable

    @property
    def first(self) -> int:
        return self.span.first

    @property
    def last(self) -> int:
        return self.span.last

    @property
    def error(self) -> Exception:
        return self.span.error

    @property
    def raw(self) -> bytes:
        """The record's own bytes (as a batch of one) or, for a span, its whole batch."""
        return self.span.alone or self.batch.raw


@dataclass(frozen=True)
class Salvage:
    """What a partition gives from the offset it cannot be read at: `kept`, the unreadable records at the front, to
    quarantine; `past_kept`, the offset after them; `records`, the readable ones that follow them, to apply;
    `resume_at`, where the partition is read on from."""

    kept: list[Kept]
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
    """What the batches give from `offset` (None: nothing there yet): the run of unreadable records there, however
    many batches it spans, and the readable records of the batch it ends in, up to the next unreadable one."""
    entries = _entries(batches, offset)
    kept: list[Kept] = []
    for batch, entry in entries:
        if isinstance(entry, Unreadable):
            kept.append(Kept(batch, _from(entry, offset)))
            continue
        records, resume_at = _readable_run(batch, entry, entries)
        return Salvage(kept, entry.offset, [_consumer_record(tp, r) for r in records], resume_at)
    if not kept:
        return None
    past_kept = kept[-1].batch.next_offset  # the run lasts to the end of what was fetched
    return Salvage(kept, past_kept, [], past_kept)


def _readable_run(
    batch: RawBatch, first: Record, entries: Iterator[tuple[RawBatch, Record | Unreadable]]
) -> tuple[list[Record], int]:
    """The readable records of `batch` from `first` up to its next unreadable one, and the offset after them."""
    records = [first]
    for in_batch, entry in entries:
        if in_batch is not batch:
            return records, batch.next_offset
        if isinstance(entry, Unreadable):
            return records, entry.first
        records.append(entry)
    return records, batch.next_offset


def _entries(batches: list[RawBatch], offset: int) -> Iterator[tuple[RawBatch, Record | Unreadable]]:
    """The batches' records and unreadable spans from `offset` on, each with its batch, read as they are asked for."""
    for batch in batches:
        for entry in read(batch):
            if _last(entry) >= offset:
                yield batch, entry


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
    """Quarantine the salvage's unreadable records in one transaction, a few hundred rows a statement; returns how
    many were new (a stretch read again keeps nothing twice)."""
    rows = [
        {
            "consumer": consumer,
            "topic": tp.topic,
            "partition": tp.partition,
            "offset": kept.first,
            "raw": kept.raw,
            "error_type": type(kept.error).__name__[:200],
            "error_where": where(kept.batch, kept.span)[:500],
            "quarantined_at": now,
        }
        for kept in salvaged.kept
    ]
    added = 0
    async with unit_of_work(sessions) as session:
        dialect = session.get_bind().dialect.name
        for at in range(0, len(rows), ROWS_PER_INSERT):
            insert = insert_skipping_conflicts(dialect, QuarantinedRecord).values(rows[at : at + ROWS_PER_INSERT])
            added += len((await session.scalars(insert.returning(col(QuarantinedRecord.id)))).all())
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
