"""Dead-lettering: a record the consumer gives up on goes to `<topic>.dlq` with why in its `dlq_*` headers."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError, MessageSizeTooLargeError

from shared.contracts import dead_letter_topic
from shared.messaging.consumed import count
from shared.messaging.failure_facts import error_headers, log_facts
from shared.messaging.kafka import SharedProducer
from shared.messaging.relay import Backoff
from shared.metrics import DEAD_LETTERS

log = logging.getLogger(__name__)


class DeadLetters:
    """Sends a consumer's poison records to their dead-letter topics."""

    def __init__(self, consumer: str, producer: SharedProducer | AIOKafkaProducer) -> None:
        self._consumer, self._producer = consumer, producer

    async def send(self, record: ConsumerRecord[bytes, bytes], exc: BaseException, *, attempts: int) -> str:
        """Dead-letter `record`, which failed with `exc` after `attempts`; returns its outcome, `dead_lettered`."""
        await self._publish(record, [*record.headers, *error_headers(self._consumer, record, exc, attempts)])
        event_id = _header(record, "ce_id")
        log.error(
            "event dead-lettered",
            extra={
                "consumer": self._consumer,
                **({"event_id": event_id} if event_id else {}),
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                **log_facts(exc),
            },
        )
        DEAD_LETTERS.labels(record.topic).inc()
        return count("dead_lettered", record)

    async def _publish(self, record: ConsumerRecord[bytes, bytes], headers: list[tuple[str, bytes]]) -> None:
        """Publish to the dead-letter topic. Retriable Kafka errors (a leader moving, the broker briefly away) are
        retried here. A record too large to dead-letter, or a tombstone (no key, no value, which Kafka refuses),
        goes without its value, a `dlq_value` header saying why. Any other failure (the topic not authorised, a
        producer that failed for good) raises: the partition stalls on this record, never skipping it, and is
        retried with a growing delay until the operator fixes the cause."""
        value = record.value
        if value is None and record.key is None:
            value, headers = b"", [*headers, ("dlq_value", b"absent")]
        backoff = Backoff()
        while True:
            try:
                await self._producer.send_and_wait(
                    dead_letter_topic(record.topic), value, key=record.key, headers=headers
                )
                return
            except MessageSizeTooLargeError:
                if not value:
                    raise
                value, headers = b"", [*headers, ("dlq_value", b"dropped: too large")]
            except KafkaError as err:
                if not err.retriable:
                    raise
                log.warning(
                    "dead-letter publish failed; retrying", extra={"consumer": self._consumer, **log_facts(err)}
                )
                await backoff.sleep()


def _header(record: ConsumerRecord[bytes, bytes], key: str) -> str | None:
    """A header's value as text (cut to 200 characters), None when absent or not UTF-8."""
    value = dict(record.headers).get(key)
    try:
        return value.decode()[:200] if isinstance(value, bytes) else None
    except UnicodeDecodeError:
        return None
