"""Event contracts: one Pydantic model per event type, shared by producer and consumer.

Each event names its CloudEvents `type` (`gov.poverty.<service>.<event>.v<N>`), its topic and the
aggregate id used as the Kafka key. A breaking change is a new class with a new version, published side
by side until consumers move. Payloads carry ids and facts, never an ID-card number or bank account.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any, ClassVar, Self, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import SchemaValidator

from shared.schemas import refuse_control_characters

HOUSEHOLDS_TOPIC = "households.events"
PROJECTS_TOPIC = "projects.events"
SUBSIDIES_TOPIC = "subsidies.events"
AUDIT_TOPIC = "audit.events"
SERVICE_TOPICS = (HOUSEHOLDS_TOPIC, PROJECTS_TOPIC, SUBSIDIES_TOPIC, AUDIT_TOPIC)


DLQ_SUFFIX = ".dlq"


def dead_letter_topic(topic: str) -> str:
    """Where a topic's poison events go."""
    return f"{topic}{DLQ_SUFFIX}"


# As long as the columns the consumers keep them in: an event too long for its column is refused as malformed (and
# dead-lettered at once), not retried until the database refuses it.
AreaCode = Annotated[str, Field(max_length=12, description="a district, township or village code")]
SubjectId = Annotated[str, Field(max_length=64)]
ProblemCode = Annotated[str, Field(max_length=60)]
ProblemText = Annotated[str, Field(max_length=1000)]
Login = Annotated[str, Field(max_length=100, description="a token's subject")]
PeriodText = Annotated[str, Field(max_length=7, description="YYYY-MM, YYYY-S1/S2 or YYYY")]

ALL_TOPICS = SERVICE_TOPICS + tuple(dead_letter_topic(t) for t in SERVICE_TOPICS)

_REGISTRY: dict[str, type[IntegrationEvent]] = {}
# The JSON escapes that decode to a character `refuse_control_characters` refuses: \u0000-\u001f, \u007f, \b and \f
# (a raw control character is no JSON, the parser refuses it; a raw DEL is, and is looked for apart).
_ESCAPED_CONTROL = re.compile(rb"\\(?:u00[01]|u007[fF]|[bf])")


class IntegrationEvent(BaseModel):
    """Base of every event that crosses a service boundary."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    topic: ClassVar[str]

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        # PostgreSQL refuses a NUL in text: an event carrying one is poison, dead-lettered at once with the field
        # named, rather than failing in a consumer's transaction attempt after attempt.
        return refuse_control_characters(value)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "event_type" in cls.__dict__:
            if cls.event_type in _REGISTRY:
                raise TypeError(f"duplicate event type {cls.event_type}")
            _REGISTRY[cls.event_type] = cls

    @classmethod
    def from_json(cls, data: bytes) -> Self:
        """The event a JSON payload holds (ValidationError if it holds none), as `model_validate_json` reads it. The
        rule on control characters is judged once on the raw bytes: only a payload that could hold one is validated
        field by field, so that the error names the field (a consumer validates every event it reads: the check
        field by field is a call into Python per field, most of what validating an event costs)."""
        if b"\x7f" in data or (b"\\" in data and _ESCAPED_CONTROL.search(data)):
            return cls.model_validate_json(data)
        return cast(Self, _without_field_checks(cls).validate_json(data))

    def aggregate_id(self) -> str:
        """The Kafka key: all events of one aggregate stay in order on one partition."""
        raise NotImplementedError


_FIELD_CHECK = IntegrationEvent._no_control_characters.__func__  # type: ignore[attr-defined]


@functools.cache
def _without_field_checks(contract: type[IntegrationEvent]) -> SchemaValidator:
    """`contract`'s validator without the control-character check of each field (`IntegrationEvent.from_json` made
    it on the bytes): its core schema, each field's check taken out, built anew (not from the prebuilt validator)."""
    return SchemaValidator(_unchecked(contract.__pydantic_core_schema__), _use_prebuilt=False)


def _unchecked(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_unchecked(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    checked = schema.get("type") == "function-before" and schema["function"]["function"]
    if getattr(checked, "__func__", None) is _FIELD_CHECK:
        return _unchecked(schema["schema"])
    return {key: _unchecked(value) for key, value in schema.items()}


def contract_for(event_type: str) -> type[IntegrationEvent] | None:
    """The contract class registered for a CloudEvents type, if any."""
    _load_all()
    return _REGISTRY.get(event_type)


def registered_types() -> dict[str, type[IntegrationEvent]]:
    """Every known event type (used to generate the AsyncAPI document and in tests)."""
    _load_all()
    return dict(_REGISTRY)


@functools.cache  # once: every event consumed asks (its metric's label)
def _load_all() -> None:
    from shared.contracts import audit, households, projects, subsidies  # noqa: F401 - registers classes
