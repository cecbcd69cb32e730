"""The consumer's hold on its partitions: a stalled one is paused for a growing delay, then read again; what is
done is committed, and a partition revoked meanwhile is left to its new owner."""

from __future__ import annotations

import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from shared.messaging.failure_facts import log_facts
from shared.messaging.relay import Backoff

log = logging.getLogger(__name__)
STALL_CAP_S = 60.0  # a partition stalled for good (say, its dead-letter topic not authorised) is retried this often


class Partitions:
    """Pauses and resumes a consumer's stalled partitions, and commits its offsets."""

    def __init__(self, consumer: AIOKafkaConsumer, *, name: str, backoff_s: float) -> None:
        self._consumer, self._name, self._backoff_s = consumer, name, backoff_s
        self._paused: dict[TopicPartition, float] = {}  # stalled partition -> when to read it again
        self._stall_backoffs: dict[TopicPartition, Backoff] = {}

    def stall_delay(self, tp: TopicPartition, cause: BaseException, message: str, **where: int) -> float:
        """How long a stalled partition waits (growing each time it stalls again), logged with why."""
        delay = self._stall_backoffs.setdefault(tp, Backoff(self._backoff_s, STALL_CAP_S)).next_delay()
        facts = {"consumer": self._name, "topic": tp.topic, "partition": tp.partition, **where, "retry_in_s": delay}
        log.error(message, extra={**facts, **log_facts(cause)})
        return delay

    def hold(self, tp: TopicPartition, delay: float) -> None:
        self._consumer.pause(tp)
        self._paused[tp] = time.monotonic() + delay

    def is_held(self, tp: TopicPartition) -> bool:
        """Whether `tp` stalled and waits to be read again (records fetched before it was rewound are not applied)."""
        return tp in self._paused

    def moved_on(self, tp: TopicPartition) -> None:
        """`tp` is no longer stalled: a later stall starts again from the shortest delay."""
        self._stall_backoffs.pop(tp, None)

    def resume_due(self) -> None:
        now = time.monotonic()
        for tp, due in list(self._paused.items()):
            if due <= now:
                del self._paused[tp]
                if tp in self._consumer.assignment():
                    self._consumer.resume(tp)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        assigned = self._consumer.assignment()
        # A partition revoked while we worked is left out: the new owner re-reads, the inbox absorbs the repeat.
        offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError):
            log.warning("offset commit refused after a rebalance", extra={"consumer": self._name}, exc_info=True)
        except KafkaError:
            # The records are applied; a later commit covers them, and a re-read is absorbed by the inbox.
            log.warning("offset commit failed", extra={"consumer": self._name}, exc_info=True)
