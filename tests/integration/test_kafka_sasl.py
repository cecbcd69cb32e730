"""The clients authenticate with SASL when configured, against a real broker listener that requires it."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.errors import KafkaError
from pydantic import SecretStr

from shared.messaging.kafka import KafkaSecurity, ensure_topics, make_consumer, make_producer
from shared.settings import ServiceSettings
from tests.kafka_support import SASL_PASSWORD, SASL_USER


def configured(password: str = SASL_PASSWORD) -> KafkaSecurity:
    settings = ServiceSettings(
        database_url="sqlite://",
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username=SASL_USER,
        kafka_sasl_password=SecretStr(password),
    )
    return settings.kafka_security()


async def test_events_flow_through_a_listener_that_requires_sasl(kafka_sasl: str) -> None:
    security, topic = configured(), f"sasl.{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_sasl, [topic], security=security)
    producer = make_producer(kafka_sasl, client_id="sasl-test", security=security)
    consumer = make_consumer(kafka_sasl, group_id=f"sasl-{uuid.uuid4().hex[:8]}", topics=[topic], security=security)
    await producer.start()
    await consumer.start()
    try:
        await producer.send_and_wait(topic, b"authenticated", key=b"k")
        received = []
        for _ in range(30):
            batches = await consumer.getmany(timeout_ms=1000)
            received += [r.value for records in batches.values() for r in records]
            if received:
                break
        assert received == [b"authenticated"]
    finally:
        await consumer.stop()
        await producer.stop()


@pytest.mark.parametrize("security", [configured("not-the-password"), KafkaSecurity()], ids=["wrong", "none"])
async def test_a_client_without_the_right_credentials_is_refused(kafka_sasl: str, security: KafkaSecurity) -> None:
    producer = make_producer(kafka_sasl, client_id="sasl-test", security=security)
    try:
        with pytest.raises(KafkaError):
            await producer.start()
    finally:
        await producer.stop()
