"""Topics a service creates itself keep records as the inbox's retention assumes (as on Kubernetes)."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.contracts import dead_letter_topic
from shared.messaging.kafka import ensure_topics, topic_config

pytestmark = pytest.mark.integration


async def test_created_topics_carry_the_retention_and_segment_span(kafka: str) -> None:
    topic = f"retention-{uuid.uuid4().hex[:8]}"
    topics = [topic, dead_letter_topic(topic)]
    await ensure_topics(kafka, topics)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
    finally:
        await admin.close()
    found = {
        name: {key: value for key, value, *_ in configs if key in ("retention.ms", "segment.ms")}
        for response in responses
        for _, _, _, name, configs in response.resources
    }
    assert found == {t: topic_config(t) for t in topics}
    assert found[topic]["retention.ms"] != found[dead_letter_topic(topic)]["retention.ms"]
