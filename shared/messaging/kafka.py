"""Kafka clients configured the way this platform needs them (aiokafka's defaults are too weak)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from aiokafka.helpers import create_ssl_context
from aiokafka.partitioner import DefaultPartitioner
from pydantic import SecretStr

from shared.contracts import DLQ_SUFFIX
from shared.messaging.retention import DEAD_LETTER_RETENTION, SEGMENT_SPAN, TOPIC_RETENTION

log = logging.getLogger(__name__)
TOPIC_ALREADY_EXISTS = 36
# A producer whose broker is gone waits forever for its pending batches when stopped; past this we abandon them
# (the outbox still holds their rows, so they are published again).
STOP_TIMEOUT_S = 10.0
# The producer's partitioner and request limit (aiokafka's defaults), named: the relay builds record batches itself
# and places and bounds each record exactly as the producer's `send` would.
PARTITIONER = DefaultPartitioner()
MAX_REQUEST_SIZE = 1_048_576
# A partition's records go to the broker one batch per round trip: 64 KiB carries ~150 events (aiokafka's 16 KiB, ~40).
BATCH_BYTES = 65_536

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


@dataclass(frozen=True)
class KafkaSecurity:
    """How the clients reach a secured cluster: TLS (verified against `cafile`, or the system's CAs), optionally
    with a client certificate, and/or SASL with a user and password. PLAINTEXT is the local broker's."""

    protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    username: str | None = None
    password: SecretStr | None = None
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None

    def client_options(self) -> dict[str, Any]:
        """The keyword arguments every aiokafka client takes for this security."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.protocol in ("SSL", "SASL_SSL"):
            context = create_ssl_context(cafile=self.cafile, certfile=self.certfile, keyfile=self.keyfile)
            options["ssl_context"] = context
        if self.protocol.startswith("SASL"):
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.username
            options["sasl_plain_password"] = self.password.get_secret_value() if self.password else None
        return options


PLAINTEXT = KafkaSecurity()


def make_producer(bootstrap_servers: str, *, client_id: str, security: KafkaSecurity = PLAINTEXT) -> AIOKafkaProducer:
    """An idempotent producer (acks=all): retries never duplicate or reorder within a partition."""
    return AIOKafkaProducer(
        **security.client_options(),
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=BATCH_BYTES,
        partitioner=PARTITIONER,
        max_request_size=MAX_REQUEST_SIZE,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
    )


def is_fatal(exc: BaseException) -> bool:
    """Whether a failed send leaves the producer unusable: with idempotence, a batch that expired or was refused
    leaves a gap in its partition's sequence numbers, and every later send there fails (OutOfOrderSequenceNumber)
    until the producer gets a new producer id. A record too large says nothing about the producer."""
    return isinstance(exc, KafkaError) and not exc.retriable and not isinstance(exc, MessageSizeTooLargeError)


class SharedProducer:
    """A service's one producer, held here so that the outbox relay and the dead-letter path share it and both get
    its replacement after a fatal failure (a new producer id, see `is_fatal`)."""

    def __init__(self, factory: Callable[[], AIOKafkaProducer]) -> None:
        self._factory = factory
        self.current: AIOKafkaProducer = factory()
        self._renewing = asyncio.Lock()

    async def start(self) -> None:
        await self.current.start()

    async def stop(self) -> None:
        await stop_producer(self.current)

    async def reset(self) -> None:
        """Stop the producer and make a fresh, unstarted one (after a failed start)."""
        await self.stop()
        self.current = self._factory()

    async def send_and_wait(
        self, topic: str, value: bytes | None, *, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        """Publish one record and wait for the broker; after a fatal failure the producer is renewed, then the
        error raised."""
        producer = self.current
        try:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
        except KafkaError as exc:
            await self.recover(producer, exc)
            raise

    async def recover(self, failed: AIOKafkaProducer, exc: BaseException) -> None:
        """Replace `failed` with a started new producer if `exc` is fatal and no one has replaced it yet. When the
        new one cannot start (broker down) `failed` stays, and the next fatal error tries again."""
        if not is_fatal(exc):
            return
        async with self._renewing:
            if self.current is not failed:
                return
            log.error("kafka producer failed fatally; replacing it", extra={"error_type": type(exc).__name__})
            fresh = self._factory()
            try:
                await fresh.start()
            except Exception:
                log.warning("could not start a new kafka producer; will try again", exc_info=True)
                await stop_producer(fresh)
                return
            self.current = fresh
        await stop_producer(failed)


async def stop_producer(producer: AIOKafkaProducer, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Stop a producer, giving up on its pending batches after `timeout_s`."""
    try:
        await asyncio.wait_for(producer.stop(), timeout_s)
    except TimeoutError:
        log.warning("kafka producer did not stop in time; its pending batches are abandoned")


def make_consumer(
    bootstrap_servers: str, *, group_id: str, topics: Iterable[str], security: KafkaSecurity = PLAINTEXT
) -> AIOKafkaConsumer:
    """A consumer that commits only what the inbox has applied, reading from the start for new groups."""
    return AIOKafkaConsumer(
        *topics,
        **security.client_options(),
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        client_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=500,
        # The background fetcher also wakes on every fetch, rebalance and consumption; its idle timeout (200 ms by
        # default) only makes an idle service wake five times a second, which costs real CPU on small VMs.
        consumer_timeout_ms=1000,
        session_timeout_ms=10000,
        heartbeat_interval_ms=3000,
        metadata_max_age_ms=30000,
    )


def topic_config(topic: str) -> dict[str, str]:
    """How long a topic keeps records, as in deploy/k8s/base/kafka/topics.yaml: the inbox's retention counts on
    it, so topics a service creates itself (locally, in Compose) are created the same way."""
    kept = DEAD_LETTER_RETENTION if topic.endswith(DLQ_SUFFIX) else TOPIC_RETENTION
    return {"retention.ms": str(_ms(kept)), "segment.ms": str(_ms(SEGMENT_SPAN))}


def _ms(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str],
    *,
    partitions: int = 3,
    replication_factor: int = 1,
    security: KafkaSecurity = PLAINTEXT,
) -> None:
    """Create the topics that are missing; an existing topic is left as it is."""
    admin = AIOKafkaAdminClient(
        **security.client_options(), bootstrap_servers=bootstrap_servers, request_timeout_ms=15000
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return
        response = await admin.create_topics(
            [NewTopic(t, partitions, replication_factor, topic_configs=topic_config(t)) for t in missing]
        )
        for topic_error in response.topic_errors:
            name, code = topic_error[0], topic_error[1]
            if code not in (0, TOPIC_ALREADY_EXISTS):
                raise RuntimeError(f"could not create topic {name}: error code {code}")
        log.info("created topics", extra={"topics": missing})
    finally:
        await admin.close()


async def ping(producer: AIOKafkaProducer) -> None:
    """Raise unless the producer can reach the cluster (used by readiness)."""
    await producer.client.fetch_all_metadata()
