"""The clients speak SASL over TLS to a real broker listener, and trust it only with the CA that signed it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka.errors import KafkaError
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr

from shared.local.kafka import LocalKafka
from shared.local.tls import throwaway_ca
from shared.messaging.kafka import KafkaSecurity, make_producer
from tests.kafka_support import SASL_PASSWORD, SASL_USER, round_trip

pytestmark = pytest.mark.integration

# A refused handshake or login fails within a second or two; the bound only keeps a regression from hanging.
REFUSAL_TIMEOUT = 30.0


@pytest.fixture(scope="module")
async def kafka_tls(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalKafka]:
    """A broker of this module's own with a SASL_SSL listener (the session broker has none)."""
    broker = LocalKafka(data_dir=tmp_path_factory.mktemp("kafka-tls"), sasl_users={SASL_USER: SASL_PASSWORD}, tls=True)
    async with broker:
        yield broker


def over_tls(cafile: Path, password: str = SASL_PASSWORD) -> KafkaSecurity:
    return KafkaSecurity(
        protocol="SASL_SSL",
        sasl_mechanism="PLAIN",
        username=SASL_USER,
        password=SecretStr(password),
        cafile=str(cafile),
    )


async def test_events_flow_through_a_listener_that_requires_sasl_over_tls(kafka_tls: LocalKafka) -> None:
    security, topic = over_tls(kafka_tls.tls_cafile), f"tls.{uuid.uuid4().hex[:8]}"
    received = await round_trip(kafka_tls.tls_bootstrap_servers, security, b"encrypted", topic=topic)
    assert [r.value for r in received] == [b"encrypted"]


async def refused(bootstrap: str, security: KafkaSecurity, caplog: pytest.LogCaptureFixture) -> str:
    """Fail unless a producer's start is refused; return what aiokafka logged about why."""
    producer = make_producer(bootstrap, client_id="tls-test", security=security)
    try:
        with pytest.raises(KafkaError):
            async with asyncio.timeout(REFUSAL_TIMEOUT):
                await producer.start()
    finally:
        await producer.stop()
    # aiokafka raises only "Unable to bootstrap"; the cause (certificate, password) is in its log.
    return caplog.text


async def test_a_client_trusting_another_ca_refuses_the_broker(
    kafka_tls: LocalKafka, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(throwaway_ca("another CA")[0].public_bytes(serialization.Encoding.PEM))
    why = await refused(kafka_tls.tls_bootstrap_servers, over_tls(other_ca), caplog)
    assert "certificate verify failed" in why


async def test_a_wrong_password_is_refused_over_tls(kafka_tls: LocalKafka, caplog: pytest.LogCaptureFixture) -> None:
    security = over_tls(kafka_tls.tls_cafile, password="not-the-password")
    why = await refused(kafka_tls.tls_bootstrap_servers, security, caplog)
    assert "Invalid username or password" in why
