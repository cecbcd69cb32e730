"""The AsyncAPI 3.0 document of every event, generated from the contracts (`poverty asyncapi` prints it)."""

from __future__ import annotations

from typing import Any

from shared.contracts import SERVICE_TOPICS, dead_letter_topic, registered_types

CLOUDEVENTS_HEADERS = {
    "type": "object",
    "required": ["ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time"],
    "properties": {
        name: {"type": "string"}
        for name in ("ce_specversion", "ce_id", "ce_type", "ce_source", "ce_subject", "ce_time", "traceparent")
    },
}


def _message_name(event_type: str) -> str:
    return event_type.removeprefix("gov.poverty.").replace(".", "_")


def asyncapi_document() -> dict[str, Any]:
    """Channels per topic, one message per event type, payload schemas from the Pydantic models."""
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {topic: {"address": topic, "messages": {}} for topic in SERVICE_TOPICS}
    for event_type, contract in sorted(registered_types().items()):
        name = _message_name(event_type)
        messages[name] = {
            "name": event_type,
            "title": contract.__name__,
            "summary": (contract.__doc__ or "").strip(),
            "contentType": "application/json",
            "headers": CLOUDEVENTS_HEADERS,
            "payload": contract.model_json_schema(),
        }
        channels[contract.topic]["messages"][name] = {"$ref": f"#/components/messages/{name}"}
    for topic in SERVICE_TOPICS:
        dlq = dead_letter_topic(topic)
        channels[dlq] = {"address": dlq, "description": f"Poison events of {topic}, with dlq_* error headers."}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Poverty-alleviation platform events", "version": "1.0.0"},
        "defaultContentType": "application/json",
        "channels": channels,
        "components": {"messages": messages},
    }
