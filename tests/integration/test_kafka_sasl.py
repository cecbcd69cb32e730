"""The clients authenticate with SASL when configured, against a real broker listener that requires it."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.errors import KafkaError
from pydantic import SecretStr

from shared.messaging.kafka import KafkaSecurity, make_producer
from shared.settings import ServiceSettings
from tests.kafka_support import SASL_PASSWORD, SASL_USER, round_trip


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
    received = await round_trip(kafka_sasl, configured(), b"authenticated", topic=f"sasl.{uuid.uuid4().hex[:8]}")
    assert [r.value for r in received] == [b"authenticated"]


@pytest.mark.parametrize("security", [configured("not-the-password"), KafkaSecurity()], ids=["wrong", "none"])
async def test_a_client_without_the_right_credentials_is_refused(kafka_sasl: str, security: KafkaSecurity) -> None:
    producer = make_producer(kafka_sasl, client_id="sasl-test", security=security)
    try:
        with pytest.raises(KafkaError):
            await producer.start()
    finally:
        await producer.stop()
