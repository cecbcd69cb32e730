"""Fetching a consumer's records, and reading past one the Kafka client cannot unpack.

aiokafka unpacks records as it hands them over, and one it cannot read (compressed with a codec not installed, a
header key that is not UTF-8) fails the whole fetch after other partitions' records were taken from its buffer and
their positions moved on: those would be skipped. So then every partition goes back to what is done and is read on
its own, up to the unreadable record, which is quarantined with its raw bytes (`shared.messaging.quarantine`).
"""

from __future__ import annotations

import logging
import time

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.messaging import quarantine
from shared.messaging.consumed import count_unreadable
from shared.messaging.failure_facts import log_facts
from shared.messaging.partitions import Partitions

log = logging.getLogger(__name__)
READ_ALONE_S = 5.0  # the longest a partition read on its own waits for records known to be there
Fetched = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


class Fetcher:
    """Fetches the records waiting on a consumer's partitions, by partition."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        sessions: async_sessionmaker[AsyncSession],
        partitions: Partitions,
        *,
        name: str,
        batch_size: int,
    ) -> None:
        self._consumer, self._sessions, self._partitions = consumer, sessions, partitions
        self._name, self._batch_size = name, batch_size

    async def fetch(self) -> Fetched:
        """The records waiting, by partition; when some cannot be unpacked, each partition read on its own."""
        try:
            fetched: Fetched = await self._consumer.getmany(timeout_ms=1000, max_records=500)
            return fetched
        except Exception as exc:  # whatever failed to unpack: UnsupportedCodecError, UnicodeDecodeError, ...
            log.error("a fetch could not be read; reading partition by partition", extra=log_facts(exc))
        batches = {tp: await self._read_alone(tp) for tp in self._consumer.assignment() - self._consumer.paused()}
        return {tp: records for tp, records in batches.items() if records}

    async def _read_alone(self, tp: TopicPartition) -> list[ConsumerRecord[bytes, bytes]]:
        """A partition's records from what is done, one at a time, up to the first that cannot be read: those before
        it are handed back to be applied first. When it is the first, it is quarantined and the partition moves on."""
        done = await self._rewind_to_committed(tp)
        records: list[ConsumerRecord[bytes, bytes]] = []
        give_up = time.monotonic() + READ_ALONE_S
        while len(records) < self._batch_size:
            try:
                read = (await self._consumer.getmany(tp, timeout_ms=200, max_records=1)).get(tp, [])
            except Exception as exc:
                if not records:
                    return await self._quarantine(tp, done, exc)
                self._consumer.seek(tp, records[-1].offset + 1)  # the next round, once these are applied, reads it
                break
            records += read
            if not read and (time.monotonic() > give_up or not await self._more_waiting(tp)):
                break
        return records

    async def _more_waiting(self, tp: TopicPartition) -> bool:
        """Whether `tp` holds records past its position that a fetch has not brought yet (a rewind drops what was
        fetched, and a busy broker may take longer than one read waits)."""
        end = self._consumer.last_stable_offset(tp) or self._consumer.highwater(tp)
        return end is None or await self._consumer.position(tp) < end

    async def _quarantine(self, tp: TopicPartition, offset: int, exc: Exception) -> list[ConsumerRecord[bytes, bytes]]:
        """Keep the unreadable records at `offset` in the quarantine and commit past them, then hand back the
        readable ones after them (`shared.messaging.quarantine`). When the raw bytes cannot be fetched or kept (the
        broker or the database away), the partition waits at `offset`, nothing skipped, and is read again soon."""
        try:
            salvaged = await quarantine.set_aside(self._consumer, self._sessions, name=self._name, tp=tp, offset=offset)
        except Exception as failure:
            exc = failure
            salvaged = None
        if salvaged is None:
            self._consumer.seek(tp, offset)
            unreadable = "partition holds a record that cannot be read nor quarantined; reading it again soon"
            self._partitions.hold(tp, self._partitions.stall_delay(tp, exc, unreadable, offset=offset))
            count_unreadable(tp.topic)
            return []
        self._partitions.moved_on(tp)
        if salvaged.kept:
            first, last = salvaged.kept[0], salvaged.kept[-1]
            facts = {"consumer": self._name, "topic": tp.topic, "partition": tp.partition, "first_offset": first.first}
            facts |= {"last_offset": last.last, "error_type": type(first.error).__name__}
            log.error("records the client cannot unpack quarantined", extra=facts)
            await self._partitions.commit({tp: salvaged.past_kept})
        self._consumer.seek(tp, salvaged.resume_at)
        return salvaged.records

    async def _rewind_to_committed(self, tp: TopicPartition) -> int:
        """Seek `tp` back to its first record not done, and return that offset."""
        committed = await self._consumer.committed(tp)
        if committed is None:
            await self._consumer.seek_to_beginning(tp)  # a new group reads from the start (auto_offset_reset)
            position: int = await self._consumer.position(tp)
            return position
        self._consumer.seek(tp, committed)
        return int(committed)
