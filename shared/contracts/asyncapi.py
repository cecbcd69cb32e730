"""The AsyncAPI 3.0 document of every event, generated from the contracts (`poverty asyncapi` prints it).

Channels are the topics and their dead-letter topics, with their Kafka bindings (partitions, replicas, retention as
deployed); messages are the event types, with the CloudEvents headers, the payload schema, the Kafka key (the
aggregate id) and a valid example; operations are what each service does: send on its own topic, receive the
topics its handlers consume (in its consumer group), dead-letter what it cannot apply, and replay its own topic's
dead letters (`poverty replay-dlq`). `tools/asyncapi/validate.mjs` checks the document with AsyncAPI's parser.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable
from typing import Any

from shared.contracts import SERVICE_TOPICS, IntegrationEvent, dead_letter_topic, registered_types
from shared.contracts.examples import EXAMPLE_TIME, example_event, example_key
from shared.messaging.cloudevents import CONTENT_TYPE, SPECVERSION, Envelope
from shared.messaging.handlers import HandlerRegistry

BINDING_VERSION = "0.5.0"  # Kafka bindings
SCHEMAS = "#/components/schemas/"
# As deployed (deploy/k8s: the services' ConfigMaps and kafka/topics.yaml; checked by tests/unit/test_asyncapi.py).
PRODUCTION_BOOTSTRAP = "poverty-kafka-bootstrap:9093"
PARTITIONS, REPLICAS = 3, 3
REPLAY_GROUP = "dlq-replay"  # `poverty replay-dlq --group`'s default
DEAD_LETTER = "DeadLetter"
TRACEPARENT = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"

DESCRIPTION = """\
Events of the poverty-alleviation platform's four services. Each service publishes the events of its own domain on
its own topic through a transactional outbox, and applies the topics it consumes through an idempotent inbox.

- **CloudEvents 1.0, Kafka binary mode**: the attributes are `ce_*` headers, the value is the JSON payload.
- **Key**: the aggregate id (a household's, a project's, a finding's...): one aggregate's events keep their order
  on one partition.
- **At least once**: an event may arrive twice (a relay restart, a replay); consumers apply each `ce_id` once.
- **Versions**: `ce_type` ends in `.v<N>`; a breaking change is a new type, published beside the old one.
- **Dead letters**: a record a consumer cannot apply goes to `<topic>.dlq`, with `dlq_*` headers saying why;
  the topic's owner puts it back with `poverty replay-dlq <topic>.dlq` once the cause is fixed.
"""


def asyncapi_document() -> dict[str, Any]:
    """The whole document: servers, channels, operations and components."""
    contracts = sorted(registered_types().values(), key=lambda c: c.event_type)
    schemas: dict[str, Any] = {
        "CloudEventsHeaders": _cloudevents_headers(),
        "DeadLetterHeaders": _dead_letter_headers(),
    }
    messages = {_message_id(c): _message(c, schemas) for c in contracts}
    messages[DEAD_LETTER] = _dead_letter_message()
    channels: dict[str, Any] = {}
    for topic in SERVICE_TOPICS:
        names = [_message_id(c) for c in contracts if c.topic == topic]
        channels[topic] = _channel(topic, names, f"The events {_owner(topic)} publishes.")
        dlq = dead_letter_topic(topic)
        channels[dlq] = _channel(dlq, [DEAD_LETTER], f"Records of {topic} its consumers could not apply.")
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Poverty-alleviation platform events", "version": "1.0.0", "description": DESCRIPTION},
        "defaultContentType": CONTENT_TYPE,
        "servers": _servers(),
        "channels": channels,
        "operations": _operations(contracts),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "messages": messages,
            "securitySchemes": {
                "scram": {
                    "type": "scramSha512",
                    "description": "SASL SCRAM-SHA-512 over TLS: each service is a Kafka user of its own name.",
                }
            },
        },
    }


def _owner(topic: str) -> str:
    return topic.split(".", 1)[0]


def _message_id(contract: type[IntegrationEvent]) -> str:
    return contract.event_type.removeprefix("gov.poverty.").replace(".", "_")


# ---- servers and channels -----------------------------------------------------------------------------------------


def _servers() -> dict[str, Any]:
    from shared.local.kafka import KAFKA_VERSION
    from shared.settings import ServiceSettings

    local = ServiceSettings.model_fields["kafka_bootstrap_servers"].default
    return {
        "production": {
            "host": PRODUCTION_BOOTSTRAP,
            "protocol": "kafka-secure",
            "protocolVersion": KAFKA_VERSION,
            "description": "The Strimzi cluster on Kubernetes: TLS (the cluster CA) and SCRAM-SHA-512, one Kafka "
            "user per service whose ACLs grant exactly the operations below.",
            "security": [{"$ref": "#/components/securitySchemes/scram"}],
        },
        "local": {
            "host": local,
            "protocol": "kafka",
            "protocolVersion": KAFKA_VERSION,
            "description": "The single-node broker of `poverty up` and the tests (plaintext, no authentication).",
        },
    }


def _channel(topic: str, message_ids: Iterable[str], description: str) -> dict[str, Any]:
    from shared.messaging.kafka import topic_config

    config = topic_config(topic)
    return {
        "address": topic,
        "description": description,
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in message_ids},
        "bindings": {
            "kafka": {
                "topic": topic,
                "partitions": PARTITIONS,
                "replicas": REPLICAS,
                "topicConfiguration": {
                    "cleanup.policy": ["delete"],
                    "retention.ms": int(config["retention.ms"]),
                    "segment.ms": int(config["segment.ms"]),
                },
                "bindingVersion": BINDING_VERSION,
            }
        },
    }


# ---- messages -----------------------------------------------------------------------------------------------------


def _message(contract: type[IntegrationEvent], schemas: dict[str, Any]) -> dict[str, Any]:
    summary, _, description = (contract.__doc__ or contract.__name__).strip().partition("\n")
    event = example_event(contract)
    key, key_field = example_key(event)
    key_schema: dict[str, Any] = {"type": "string", "description": f"the aggregate id: {key_field or 'see example'}"}
    if key_field is not None:
        key_schema["format"] = "uuid"
    return {
        "name": contract.event_type,
        "title": contract.__name__,
        "summary": summary.strip(),
        **({"description": " ".join(description.split())} if description.strip() else {}),
        "contentType": CONTENT_TYPE,
        "headers": {
            "allOf": [
                {"$ref": f"{SCHEMAS}CloudEventsHeaders"},
                {"type": "object", "properties": {"ce_type": {"type": "string", "const": contract.event_type}}},
            ]
        },
        "payload": {"$ref": SCHEMAS + _add_payload_schema(contract, schemas)},
        "bindings": {"kafka": {"key": {**key_schema, "examples": [key]}, "bindingVersion": BINDING_VERSION}},
        "examples": [{"name": contract.__name__, "headers": example_headers(event), "payload": _payload(event)}],
    }


def _add_payload_schema(contract: type[IntegrationEvent], schemas: dict[str, Any]) -> str:
    """Put the contract's JSON schema, and the enums it refers to, among the components; return its name."""
    schema = contract.model_json_schema(ref_template=SCHEMAS + "{model}")
    for name, definition in {**schema.pop("$defs", {}), contract.__name__: schema}.items():
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two different schemas named {name}: rename one of the contracts' types")
    return contract.__name__


def _payload(event: IntegrationEvent) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(event.model_dump_json())
    return payload


def example_headers(event: IntegrationEvent) -> dict[str, str]:
    """The Kafka headers the relay sends with `event` (an example's: fixed id, time and trace)."""
    envelope = Envelope(
        id="0b5e7a1c-6f0e-4c55-9a47-3c2d1e0f9b21",
        type=event.event_type,
        source=f"/services/{event.event_type.split('.')[2]}",
        subject=event.aggregate_id(),
        time=EXAMPLE_TIME,
        data=event.model_dump_json().encode(),
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    )
    return {name: value.decode() for name, value in envelope.to_headers()}


def _cloudevents_headers() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "CloudEvents 1.0 attributes in Kafka binary mode, and the W3C trace context.",
        "required": ["ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time"],
        "properties": {
            "ce_specversion": {"type": "string", "const": SPECVERSION},
            "ce_id": {"type": "string", "format": "uuid", "description": "the event's id: consumers apply it once"},
            "ce_type": {"type": "string", "pattern": r"^gov\.poverty\.[a-z_]+\.[a-z_]+\.v[0-9]+$"},
            "ce_source": {"type": "string", "pattern": "^/services/[a-z]+$", "description": "the publishing service"},
            "ce_subject": {"type": "string", "description": "the aggregate id, as the key"},
            "ce_time": {"type": "string", "format": "date-time", "description": "when the change was recorded"},
            "content-type": {"type": "string", "const": CONTENT_TYPE},
            "traceparent": {"type": "string", "pattern": TRACEPARENT, "description": "W3C trace context"},
        },
    }


def _dead_letter_headers() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "type": "object",
        "description": "The source record's own headers (the CloudEvents attributes, when it had them) and why it "
        "was dead-lettered. Errors are named by type, place and (for a database) SQLSTATE and constraint, never "
        "by a message that could quote personal data.",
        "required": ["dlq_consumer", "dlq_error_type", "dlq_attempts", "dlq_source_topic", "dlq_source_offset"],
        "properties": {
            "dlq_consumer": {**text, "description": "the consumer group (service) that gave up"},
            "dlq_error_type": {**text, "description": "the exception's type, e.g. ValidationError"},
            "dlq_error_where": {**text, "description": "the innermost frames, file:line"},
            "dlq_error_message": {**text, "description": "for a validation error or a malformed event only"},
            "dlq_error_sqlstate": {**text, "description": "a database error's SQLSTATE"},
            "dlq_error_constraint": {**text, "description": "a database error's constraint"},
            "dlq_attempts": {**text, "pattern": "^[0-9]+$", "description": "how often the handler was tried"},
            "dlq_source_topic": text,
            "dlq_source_partition": {**text, "pattern": "^[0-9]+$"},
            "dlq_source_offset": {**text, "pattern": "^[0-9]+$"},
            "dlq_value": {**text, "description": "present when the value could not be kept: absent, too large"},
        },
    }


def _dead_letter_message() -> dict[str, Any]:
    contract = registered_types()["gov.poverty.households.problem_found.v1"]
    event = example_event(contract)
    dlq = {
        "dlq_consumer": "audit",
        "dlq_error_type": "IntegrityError",
        "dlq_error_where": "findings.py:64 > session.py:2234 > default.py:942",
        "dlq_error_sqlstate": "23505",
        "dlq_attempts": "5",
        "dlq_source_topic": contract.topic,
        "dlq_source_partition": "1",
        "dlq_source_offset": "4711",
    }
    return {
        "name": "dead-letter",
        "title": "Dead letter",
        "summary": "A record a consumer could not apply, unchanged, with the reason in dlq_* headers.",
        "contentType": CONTENT_TYPE,
        "headers": {"$ref": f"{SCHEMAS}DeadLetterHeaders"},
        "payload": {"description": "the source record's value, unchanged (empty when dlq_value says why)"},
        "examples": [
            {"name": "ProblemNotApplied", "headers": {**example_headers(event), **dlq}, "payload": _payload(event)}
        ],
    }


# ---- operations ---------------------------------------------------------------------------------------------------


def _operations(contracts: list[type[IntegrationEvent]]) -> dict[str, Any]:
    from shared.service_index import SERVICES

    return {name: op for service in SERVICES for name, op in _service_operations(service, contracts).items()}


def _service_operations(service: str, contracts: list[type[IntegrationEvent]]) -> dict[str, Any]:
    """What one service does on Kafka: its relay sends its topic; its consumer (group = the service) receives what
    its handlers consume and dead-letters what it cannot apply; `poverty replay-dlq` replays its own dead letters."""
    registry = _handlers(service)
    own = next(topic for topic in SERVICE_TOPICS if _owner(topic) == service)
    own_dlq = dead_letter_topic(own)
    published = [_message_id(c) for c in contracts if c.topic == own]
    relay = f"{service} publishes its events (outbox relay, idempotent producer, acks=all)."
    replay = f"`poverty replay-dlq {own_dlq}` (in a {service} pod) puts dead letters back on {own}."
    operations = {f"{service}-sends-{own}": _operation("send", own, published, relay, client=service)}
    for topic in registry.topics:
        handled = [_message_id(c) for c in contracts if c.topic == topic and _handles(registry, c)]
        applies = f"{service} applies these events in its inbox."
        gives_up = f"{service} dead-letters the records of {topic} it cannot apply."
        operations[f"{service}-receives-{topic}"] = _operation("receive", topic, handled, applies, group=service)
        operations[f"{service}-dead-letters-{topic}"] = _operation(
            "send", dead_letter_topic(topic), [DEAD_LETTER], gives_up, client=service
        )
    operations[f"{service}-replays-{own_dlq}"] = _operation(
        "receive", own_dlq, [DEAD_LETTER], replay, group=REPLAY_GROUP
    )
    return operations


def _operation(
    action: str, topic: str, message_ids: list[str], summary: str, *, group: str | None = None, client: str = ""
) -> dict[str, Any]:
    """A consumer's client id is its group's name (shared/messaging/kafka.py), a producer's the service's."""
    kafka: dict[str, Any] = {
        "bindingVersion": BINDING_VERSION,
        "clientId": {"type": "string", "enum": [client or group]},
    }
    if group is not None:
        kafka["groupId"] = {"type": "string", "enum": [group]}
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{topic}"},
        "summary": summary,
        "messages": [{"$ref": f"#/channels/{topic}/messages/{name}"} for name in message_ids],
        "bindings": {"kafka": kafka},
    }


def _handlers(service: str) -> HandlerRegistry:
    """The handlers the service's consumer runs, built as its app builds them (no database, no broker)."""
    from shared.service_index import settings_class

    module = importlib.import_module(f"services.{service}.handlers")
    registry: HandlerRegistry = module.build_handlers(settings_class(service)(kafka_enabled=False))
    return registry


def _handles(registry: HandlerRegistry, contract: type[IntegrationEvent]) -> bool:
    """Whether the registry applies (or observes) the contract's events: it binds the contract's example."""
    event = example_event(contract)
    data = event.model_dump_json().encode()
    envelope = Envelope("example", contract.event_type, "example", event.aggregate_id(), EXAMPLE_TIME, data)
    return registry.bind(contract.topic, envelope) is not None
