"""Kafka clients configured the way this platform needs them (aiokafka's defaults are too weak)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.helpers import create_ssl_context
from pydantic import SecretStr

log = logging.getLogger(__name__)
TOPIC_ALREADY_EXISTS = 36

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
        request_timeout_ms=15000,
        retry_backoff_ms=200,
    )


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
            [NewTopic(name=t, num_partitions=partitions, replication_factor=replication_factor) for t in missing]
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
