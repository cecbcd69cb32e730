"""The backbone's pure parts: CloudEvents headers, contracts, auth, settings, error bodies."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import jwt
import pytest
from pydantic import BaseModel, ValidationError

from shared.areas import VillageCode
from shared.auth import Principal, Role, TokenVerifier, issue_token, require_roles
from shared.contracts import ALL_TOPICS, IntegrationEvent, contract_for, registered_types
from shared.contracts.households import HouseholdRegistered
from shared.error_documents import field_path
from shared.errors import Forbidden, Unauthenticated
from shared.messaging.cloudevents import Envelope, MalformedEvent
from shared.settings import DEV_JWT_SECRET, ServiceSettings
from tests.api_sweep import Sweep
from tests.unit.test_api_sweep import SAMPLES


def envelope() -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        type="gov.poverty.x.v1",
        source="/s",
        subject="k",
        time=datetime(2020, 6, 30, tzinfo=UTC),
        data=b"{}",
        traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
    )


def test_cloudevent_headers_round_trip() -> None:
    original = envelope()
    assert Envelope.from_record(original.to_headers(), original.data) == original


@pytest.mark.parametrize("drop", ["ce_specversion", "ce_id", "ce_type", "ce_time"])
def test_record_missing_a_required_attribute_is_malformed(drop: str) -> None:
    headers = [(k, v) for k, v in envelope().to_headers() if k != drop]
    with pytest.raises(MalformedEvent):
        Envelope.from_record(headers, b"{}")


def test_unreadable_time_is_malformed() -> None:
    headers = [(k, b"yesterday" if k == "ce_time" else v) for k, v in envelope().to_headers()]
    with pytest.raises(MalformedEvent):
        Envelope.from_record(headers, b"{}")


def test_every_contract_has_a_versioned_type_on_a_known_topic() -> None:
    types = registered_types()
    assert len(types) >= 8
    for event_type, contract in types.items():
        assert event_type.startswith("gov.poverty.") and event_type.rsplit(".", 1)[1].startswith("v")
        assert contract.topic in ALL_TOPICS
    assert contract_for("gov.poverty.households.household_registered.v1") is HouseholdRegistered
    assert contract_for("gov.poverty.unknown.v1") is None


def contract_sample(contract: type[IntegrationEvent]) -> dict[str, Any]:
    """A valid payload of `contract`, built from its JSON schema."""
    schema = contract.model_json_schema()
    sample: dict[str, Any] = Sweep({"components": {"schemas": schema.get("$defs", {})}}, SAMPLES).sample(schema)
    return sample


CONTRACT_TEXT_FIELDS = [
    (event_type, name)
    for event_type, contract in sorted(registered_types().items())
    for name, value in contract_sample(contract).items()
    if isinstance(value, str)
]


@pytest.mark.parametrize(("event_type", "field"), CONTRACT_TEXT_FIELDS)
def test_every_contract_refuses_control_characters_in_its_text(event_type: str, field: str) -> None:
    contract = registered_types()[event_type]
    sample = contract_sample(contract)
    contract.model_validate(sample)
    with pytest.raises(ValidationError, match="control characters") as refused:
        contract.model_validate({**sample, field: "a\x00b"})
    assert refused.value.errors()[0]["loc"] == (field,)


def test_contracts_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        HouseholdRegistered(household_id=uuid.uuid4(), household_code="c", area_code="a", member_count=1, id_card="x")  # type: ignore[call-arg]


NOW = int(time.time())
CLAIMS = {"sub": "u1", "roles": ["township_office"], "aud": "poverty-platform", "iat": NOW, "exp": NOW + 3600}


def verifier(**overrides: object) -> TokenVerifier:
    return TokenVerifier(ServiceSettings(database_url="sqlite://", **overrides))  # type: ignore[arg-type]


def test_token_round_trip_gives_roles_and_area() -> None:
    principal = verifier().verify(issue_token(DEV_JWT_SECRET, "u1", ["township_office"], "371523101"))
    assert principal == Principal("u1", frozenset({Role.TOWNSHIP_OFFICE}), "371523101")


@pytest.mark.parametrize(
    "token",
    [
        issue_token(DEV_JWT_SECRET, "u1", ["district_office"], ttl_s=-10),
        issue_token(DEV_JWT_SECRET, "u1", ["district_office"], audience="another-system"),
        issue_token("x" * 40, "u1", ["district_office"]),
        issue_token(DEV_JWT_SECRET, "u1", ["township_office"]),  # scoped role without an area
        issue_token(DEV_JWT_SECRET, "u1", ["township_office", "auditor"]),  # still a scoped role without one
        jwt.encode({**CLAIMS, "area": ""}, DEV_JWT_SECRET),  # "" prefixes every code: district-wide before
        jwt.encode({**CLAIMS, "area": "３７１５２３１０１"}, DEV_JWT_SECRET),
        jwt.encode({**CLAIMS, "area": "3715231"}, DEV_JWT_SECRET),
        jwt.encode({**CLAIMS, "area": 371523101}, DEV_JWT_SECRET),
        jwt.encode({**CLAIMS, "roles": [["auditor"]]}, DEV_JWT_SECRET),  # a 500 before
        jwt.encode({**CLAIMS, "roles": [{"r": 1}]}, DEV_JWT_SECRET),
        jwt.encode({**CLAIMS, "area": "371523101", "sub": "x" * 101}, DEV_JWT_SECRET),  # a 500 on PostgreSQL
        "garbage",
    ],
)
def test_bad_tokens_are_unauthenticated(token: str) -> None:
    with pytest.raises(Unauthenticated):
        verifier().verify(token)


def test_a_token_must_say_when_it_was_issued_and_live_no_longer_than_the_cap() -> None:
    claims = {**CLAIMS, "area": "371523101"}
    twelve_hours = {**claims, "exp": NOW + 12 * 3600}
    assert verifier().verify(jwt.encode(twelve_hours, DEV_JWT_SECRET)).subject == "u1"
    with pytest.raises(Unauthenticated, match="longer than 43200 seconds"):
        verifier().verify(jwt.encode({**twelve_hours, "exp": NOW + 12 * 3600 + 1}, DEV_JWT_SECRET))
    with pytest.raises(Unauthenticated, match="longer than 600 seconds"):
        verifier(jwt_max_lifetime_s=600).verify(jwt.encode(claims, DEV_JWT_SECRET))
    without_iat = {k: v for k, v in claims.items() if k != "iat"}
    with pytest.raises(Unauthenticated, match="invalid"):
        verifier().verify(jwt.encode(without_iat, DEV_JWT_SECRET))


def test_area_scope_is_a_prefix_of_the_area_code() -> None:
    township = Principal("u", frozenset({Role.TOWNSHIP_OFFICE}), "371523101")
    assert township.can_reach("371523101201") and not township.can_reach("371523102201")
    with pytest.raises(Forbidden):
        township.ensure_reach("371523102201")
    district = Principal("u", frozenset({Role.DISTRICT_OFFICE, Role.TOWNSHIP_OFFICE}), "371523101")
    assert district.can_reach("371523102201")


def test_reach_follows_the_roles_that_grant_the_action() -> None:
    both = Principal("u", frozenset({Role.TOWNSHIP_OFFICE, Role.AUDITOR}), "371523101")
    registering = require_roles(Role.DISTRICT_OFFICE, Role.TOWNSHIP_OFFICE).admit(both)
    reading = require_roles(Role.TOWNSHIP_OFFICE, Role.AUDITOR).admit(both)
    assert not registering.can_reach("371523102201") and registering.can_reach("371523101201")
    assert reading.can_reach("371523102201")
    assert registering.roles == both.roles  # separation of duties still sees every role held


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"jwt_secret": "short"},
        {"jwt_secret": "p" * 40, "database_url": "sqlite+aiosqlite:///x.db"},
        {"jwt_algorithm": "RS256"},
    ],
)
def test_production_refuses_development_defaults(overrides: dict[str, str]) -> None:
    values = {"environment": "prod", "database_url": "postgresql+asyncpg://db/x", **overrides}
    with pytest.raises(ValidationError):
        ServiceSettings(**values)  # type: ignore[arg-type]


def test_production_accepts_real_settings() -> None:
    settings = ServiceSettings(environment="prod", database_url="postgresql+asyncpg://db/x", jwt_secret="p" * 40)  # type: ignore[arg-type]
    assert settings.environment == "prod"


async def test_registry_binds_typed_handlers_and_observers() -> None:
    from shared.contracts import AUDIT_TOPIC, HOUSEHOLDS_TOPIC
    from shared.messaging.handlers import HandlerRegistry

    calls: list[str] = []
    registry = HandlerRegistry()

    @registry.on(HouseholdRegistered)
    async def typed(session: object, event: HouseholdRegistered, env: Envelope) -> None:
        calls.append(f"typed:{event.household_code}")

    @registry.observe(HOUSEHOLDS_TOPIC)
    async def observer(session: object, env: Envelope, topic: str) -> None:
        calls.append(f"observed:{env.type}")

    event = HouseholdRegistered(
        household_id=uuid.uuid4(), household_code="C1", area_code="371523101201", member_count=2
    )
    known = Envelope(
        id="1",
        type=event.event_type,
        source="/s",
        subject="k",
        time=datetime.now(UTC),
        data=event.model_dump_json().encode(),
    )
    unknown = Envelope(
        id="2", type="gov.poverty.households.other.v9", source="/s", subject="k", time=datetime.now(UTC), data=b"{}"
    )
    assert registry.topics == [HOUSEHOLDS_TOPIC]
    for env in (known, unknown):
        application = registry.bind(HOUSEHOLDS_TOPIC, env)
        assert application is not None
        await application(None)  # type: ignore[arg-type]
    assert calls == [f"observed:{event.event_type}", "typed:C1", "observed:gov.poverty.households.other.v9"]
    assert registry.bind(AUDIT_TOPIC, unknown) is None
    with pytest.raises(ValidationError):
        registry.bind(
            HOUSEHOLDS_TOPIC,
            Envelope(
                id="3",
                type=event.event_type,
                source="/s",
                subject="k",
                time=datetime.now(UTC),
                data=b'{"household_id": 1}',
            ),
        )


def test_asyncapi_document_lists_every_event_on_its_topic() -> None:
    from shared.contracts.asyncapi import DEAD_LETTER, asyncapi_document

    doc = asyncapi_document()
    listed = {
        message["$ref"].rsplit("/", 1)[1]
        for channel in doc["channels"].values()
        for message in channel.get("messages", {}).values()
    }
    assert listed == set(doc["components"]["messages"])
    events = {name: m for name, m in doc["components"]["messages"].items() if name != DEAD_LETTER}
    assert {m["name"] for m in events.values()} == set(registered_types())
    schemas = doc["components"]["schemas"]
    assert all("properties" in schemas[m["payload"]["$ref"].rsplit("/", 1)[1]] for m in events.values())


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u:p@db:5432/households", "postgresql+asyncpg://u:p@db:5432/households"),
        ("postgres://u:p@db/households", "postgresql+asyncpg://u:p@db/households"),
        ("postgresql+asyncpg://u:p@db/households", "postgresql+asyncpg://u:p@db/households"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_urls_name_the_async_driver(given: str, used: str) -> None:
    assert ServiceSettings(database_url=given).database_url == used


def test_deadlocks_and_serialization_failures_are_retried_not_dead_lettered() -> None:
    from sqlalchemy.exc import DBAPIError, IntegrityError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from shared.failures import is_transient

    class PgError(Exception):
        def __init__(self, sqlstate: str) -> None:
            self.sqlstate = sqlstate

    assert is_transient(DBAPIError("SELECT 1", {}, PgError("40P01")))
    assert is_transient(DBAPIError("SELECT 1", {}, PgError("40001")))
    assert not is_transient(IntegrityError("INSERT", {}, PgError("23505")))
    assert not is_transient(ValueError("a rule failed"))
    assert is_transient(PoolTimeout("QueuePool limit reached"))  # every connection busy: wait, do not dead-letter


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),  # 57P03
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),  # 53300
        asyncpg.exceptions.InvalidPasswordError("password authentication failed"),  # 28P01, a rotated secret
    ],
)
def test_a_server_that_cannot_take_a_connection_now_is_transient(error: Exception) -> None:
    # SQLAlchemy does not wrap what asyncpg raises while connecting: these reached the consumer as the event's
    # fault (dead-lettered during a failover) and the API as a 500.
    from shared.failures import is_transient

    assert is_transient(error)
    assert not is_transient(asyncpg.exceptions.UniqueViolationError("duplicate key"))


@pytest.mark.parametrize("code", ["371523101201\n", "３７１５２３１０１２０１", "٣٧١٥٢٣١٠١٢٠١", "37152310120"])
def test_a_village_code_is_twelve_ascii_digits_and_nothing_else(code: str) -> None:
    class Body(BaseModel):
        area_code: VillageCode

    with pytest.raises(ValidationError, match="12-digit village code"):
        Body(area_code=code)
    assert Body(area_code="371523101201").area_code == "371523101201"


@pytest.mark.parametrize(
    ("loc", "field"),
    [
        (("body", "members", 0, "relationship_to_head"), "body.members.0.relationship_to_head"),
        (("body", "371523196207090052"), "body.(unknown field)"),  # an unknown key that is an ID-card number
        (("body", "members", 1, "3715 2319 6207 0900 52"), "body.members.1.(unknown field)"),
        ((0, "李四", "x" * 65, "_ok"), "0.(unknown field).(unknown field)._ok"),
        (("header", "Idempotency-Key"), "header.Idempotency-Key"),
        ((), ""),
    ],
)
def test_an_error_location_names_only_identifiers_and_indexes(loc: tuple[int | str, ...], field: str) -> None:
    assert field_path(loc) == field


AREA_CONTRACTS = [
    event_type for event_type, contract in sorted(registered_types().items()) if "area_code" in contract.model_fields
]


@pytest.mark.parametrize("event_type", AREA_CONTRACTS)
def test_an_area_code_longer_than_its_column_is_refused_by_the_contract(event_type: str) -> None:
    contract = registered_types()[event_type]
    sample = contract_sample(contract)
    contract.model_validate({**sample, "area_code": "371523101201"})
    with pytest.raises(ValidationError) as refused:
        contract.model_validate({**sample, "area_code": "3715231012011"})  # 13 characters: no column holds it
    assert refused.value.errors()[0]["loc"] == ("area_code",)
