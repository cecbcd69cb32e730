"""Tracing: off by default, the trace context saved with each event, carried in its Kafka header and continued by the
consumer; trace and request ids in every log line; nothing personal in an exported span."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.handlers import build_handlers
from services.audit.settings import AuditSettings
from shared import tracing
from shared.access_log import HEADER, AccessLog
from shared.contracts import HOUSEHOLDS_TOPIC
from shared.contracts.households import HouseholdRegistered
from shared.db import create_engine, session_factory, unit_of_work
from shared.logs import REQUEST_ID, JsonFormatter
from shared.messaging.cloudevents import Envelope
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.kafka import SharedProducer
from shared.messaging.outbox import OutboxMessage, OutboxSignal, record_event, session_info
from shared.messaging.relay import OutboxRelay
from shared.server_spans import NATIVE_OFF
from tests.producer_fakes import FakeProducer
from tests.support import envelope_of, household_problem
from tests.tracing_support import captured_spans, hex_ids, of_kind

ROOT = Path(__file__).resolve().parents[2]
SECRET = "110101199003077777"  # an ID-card-shaped value a caller might put in a query string or an error


def traceparent(span: ReadableSpan) -> str:
    """The W3C traceparent of an exported span (its flags as made: sampled, and random since W3C level 2)."""
    assert span.context is not None
    return f"00-{hex_ids(span)[0]}-{hex_ids(span)[1]}-{int(span.context.trace_flags):02x}"


def _ids(span: trace.Span) -> tuple[str, str]:
    ctx = span.get_span_context()
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


def _registered(code: str = "H-1") -> HouseholdRegistered:
    return HouseholdRegistered(household_id=uuid.uuid4(), household_code=code, area_code="371523101201", member_count=1)


# ---------------------------------------------------------------------------------------------------------------------
# Off by default, configured by the standard variables


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_no_exporter_unless_one_is_configured(clean_env: pytest.MonkeyPatch) -> None:
    assert tracing.exporters_from_env() == []
    clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    [otlp] = tracing.exporters_from_env()
    assert isinstance(otlp, OTLPSpanExporter)
    clean_env.setenv("OTEL_TRACES_EXPORTER", "none")
    assert tracing.exporters_from_env() == []
    clean_env.setenv("OTEL_TRACES_EXPORTER", "console")
    assert [type(e) for e in tracing.exporters_from_env()] == [ConsoleSpanExporter]


def test_the_console_exporter_writes_to_stderr_not_into_the_json_log(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("OTEL_TRACES_EXPORTER", "console")
    [console] = tracing.exporters_from_env()  # made while capsys holds stdout and stderr
    assert isinstance(console, ConsoleSpanExporter)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(console))
    provider.get_tracer("tests").start_span("exported").end()
    provider.shutdown()
    written = capsys.readouterr()
    assert written.out == "" and '"name": "exported"' in written.err


def test_the_service_name_defaults_to_the_service(clean_env: pytest.MonkeyPatch) -> None:
    assert tracing.resource_for("audit").attributes["service.name"] == "audit"
    clean_env.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=audit-blue,deployment.environment.name=prod")
    resource = tracing.resource_for("audit").attributes
    assert (resource["service.name"], resource["deployment.environment.name"]) == ("audit-blue", "prod")
    clean_env.setenv("OTEL_SERVICE_NAME", "audit-green")
    assert tracing.resource_for("audit").attributes["service.name"] == "audit-green"


OFF_BY_DEFAULT = """
import asyncio, json, logging, socket
import httpx
from fastapi import APIRouter
from opentelemetry import trace
from shared import tracing
from shared.service import ServiceSpec, build_app
from shared.settings import ServiceSettings

connections = []
real_connect = socket.socket.connect
def connect(self, address):
    connections.append(repr(address))
    return real_connect(self, address)
socket.socket.connect = connect

router = APIRouter()
@router.get("/ping")
async def ping() -> dict[str, str]:
    logging.getLogger("ping").info("pong")
    return {}

settings = ServiceSettings(database_url="sqlite+aiosqlite:///unused.db", kafka_enabled=False)
app = build_app(ServiceSpec(name="households", title="t", settings=settings, routers=[router]))

async def main() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/v1/ping")).status_code == 200

asyncio.run(main())
provider = trace.get_tracer_provider()
provider.force_flush()
print(json.dumps({
    "exporting": tracing.exporting(),
    "provider": type(provider).__name__,
    "processors": [type(p).__name__ for p in provider._active_span_processor._span_processors],
    "connections": connections,
}))
"""


def test_tracing_is_off_by_default_yet_log_lines_carry_trace_ids(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    ran = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(OFF_BY_DEFAULT)],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = [json.loads(line) for line in ran.stdout.splitlines() if line.startswith("{")]
    state = lines[-1]
    # An SDK provider whose only processor is the (empty) export list: no exporter, no connection anywhere.
    assert state == {"exporting": False, "provider": "TracerProvider", "processors": ["_Exports"], "connections": []}
    pong = next(line for line in lines if line.get("msg") == "pong")
    access = next(line for line in lines if line.get("msg") == "http request")
    # Spans are still made (not recorded): the request's log lines share its trace id and request id.
    assert len(pong["trace_id"]) == 32 and len(pong["span_id"]) == 16
    assert access["trace_id"] == pong["trace_id"] and access["request_id"] == pong["request_id"]


# ---------------------------------------------------------------------------------------------------------------------
# Trace and request ids in log lines


def test_a_log_line_carries_the_current_trace_and_request_ids() -> None:
    formatter = JsonFormatter("tests")
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello", None, None)
    assert {"trace_id", "span_id", "request_id"}.isdisjoint(json.loads(formatter.format(record)))
    with captured_spans(), trace.get_tracer("tests").start_as_current_span("work") as span:
        bound = REQUEST_ID.set("req-1")
        try:
            entry = json.loads(formatter.format(record))
        finally:
            REQUEST_ID.reset(bound)
    assert (entry["trace_id"], entry["span_id"], entry["request_id"]) == (*_ids(span), "req-1")


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter("tests"))
        self.entries: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.entries.append(json.loads(self.format(record)))


@pytest.fixture
def logs() -> Iterator[Captured]:
    captured = Captured()
    loggers = [logging.getLogger(name) for name in ("shared.access_log", "route")]
    for logger in loggers:
        logger.addHandler(captured)
        logger.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        for logger in loggers:
            logger.removeHandler(captured)
            logger.setLevel(logging.NOTSET)


def traced_app() -> FastAPI:
    app = FastAPI(telemetry=NATIVE_OFF)  # as every service's app is built: the server span is ours alone

    @app.get("/v1/households/{household_id}")
    async def read(household_id: str) -> dict[str, str]:
        logging.getLogger("route").info("read")
        return {"id": household_id}

    @app.get("/v1/failing")
    async def failing() -> None:
        raise RuntimeError(f"row ({SECRET}) violates a constraint")

    @app.get("/livez")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(AccessLog)
    tracing.install_tracing(app, "tests")
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=traced_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_a_request_has_one_server_span_and_its_log_lines_name_it(
    client: httpx.AsyncClient, logs: Captured
) -> None:
    with captured_spans() as spans:
        response = await client.get("/v1/households/h-1", headers={"X-Request-ID": "req-42"})
    [server] = spans.get_finished_spans()  # no span per ASGI message sent or received
    assert server.kind is SpanKind.SERVER and server.name == "GET /v1/households/{household_id}"
    route_line, access_line = logs.entries
    for line in (route_line, access_line):
        assert (line["trace_id"], line["request_id"]) == (hex_ids(server)[0], "req-42")
    assert response.headers[HEADER] == "req-42"


async def test_a_caller_s_trace_is_continued(client: httpx.AsyncClient) -> None:
    caller = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
    with captured_spans() as spans:
        await client.get("/v1/households/h-1", headers={"traceparent": caller})
    [server] = spans.get_finished_spans()
    assert hex_ids(server)[0] == "ab" * 16 and server.parent is not None and server.parent.span_id == 0xCDCDCDCDCDCDCDCD


async def test_health_probes_make_no_span(client: httpx.AsyncClient) -> None:
    with captured_spans() as spans:
        assert (await client.get("/livez")).status_code == 200
    assert spans.get_finished_spans() == ()


async def test_an_exported_span_holds_no_path_query_or_exception_text(client: httpx.AsyncClient) -> None:
    with captured_spans() as spans:
        await client.get(f"/v1/households/HH-{SECRET}", params={"id_number": SECRET})
        assert (await client.get("/v1/failing", params={"q": SECRET})).status_code == 500
    exported = spans.get_finished_spans()
    assert len(exported) == 2
    for span in exported:
        assert SECRET not in span.to_json()
    failed = exported[1]
    assert failed.status.status_code is StatusCode.ERROR and failed.status.description is None
    [exception] = [e for e in failed.events if e.name == "exception"]
    facts = dict(exception.attributes or {})
    assert facts["exception.type"] == "RuntimeError" and set(facts) <= tracing.EXCEPTION_FACTS


# ---------------------------------------------------------------------------------------------------------------------
# The trace across Kafka: outbox row, relay header, consumer


@pytest.fixture
async def households_db(sqlite_url: Callable[[str], Awaitable[str]]) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await sqlite_url("households"))
    yield engine
    await engine.dispose()


async def saved_traceparents(sessions: async_sessionmaker[AsyncSession]) -> list[str | None]:
    async with sessions() as session:
        return list(await session.scalars(select(col(OutboxMessage.traceparent)).order_by(col(OutboxMessage.id))))


async def test_the_outbox_row_keeps_the_trace_it_was_recorded_in(households_db: AsyncEngine) -> None:
    sessions = session_factory(households_db)
    with trace.get_tracer("tests").start_as_current_span("visit") as span:
        async with unit_of_work(sessions) as session:
            row = record_event(session, _registered("in-a-span"), source="/tests")
    async with unit_of_work(sessions) as session:
        outside = record_event(session, _registered("outside"), source="/tests")
    ids = _ids(span)
    flags = f"{int(span.get_span_context().trace_flags):02x}"
    assert row["traceparent"] == f"00-{ids[0]}-{ids[1]}-{flags}" and outside["traceparent"] is None
    assert await saved_traceparents(sessions) == [row["traceparent"], None]


async def test_the_relay_publishes_in_a_producer_span_child_of_the_saved_context(households_db: AsyncEngine) -> None:
    signal = OutboxSignal()
    sessions = async_sessionmaker(households_db, expire_on_commit=False, info=session_info(signal))
    producer = FakeProducer()
    shared_producer = SharedProducer(lambda: producer)
    await shared_producer.start()
    with captured_spans() as spans:
        with trace.get_tracer("tests").start_as_current_span("visit") as visit:
            async with unit_of_work(sessions) as session:
                record_event(session, _registered("H-1"), source="/tests")
        async with unit_of_work(sessions) as session:
            record_event(session, _registered("H-2"), source="/tests")  # recorded outside any trace
        relay = OutboxRelay(engine=households_db, producer=shared_producer, signal=signal)
        assert await relay.publish_pending() == 2
    first, second = of_kind(spans.get_finished_spans(), SpanKind.PRODUCER)
    assert first.name == "send households.events"
    assert hex_ids(first)[0] == _ids(visit)[0] and first.parent is not None
    assert first.parent.span_id == visit.get_span_context().span_id
    assert producer.headers[0]["traceparent"].decode() == traceparent(first)  # the producer span's own context
    attributes = first.attributes or {}
    assert attributes["messaging.system"] == "kafka" and attributes["messaging.destination.name"] == HOUSEHOLDS_TOPIC
    assert attributes["cloudevents.event_type"] == HouseholdRegistered.event_type
    assert attributes["messaging.message.id"] == producer.headers[0]["ce_id"].decode()
    # An event recorded outside a trace starts one where it is published.
    assert second.parent is None and producer.headers[1]["traceparent"].decode() == traceparent(second)


def audit_runner(sessions: async_sessionmaker[AsyncSession]) -> ConsumerRunner:
    """Audit's consumer runner, given records by hand (`process`): no consumer, no dead-letter producer."""
    return ConsumerRunner(
        name="audit", handlers=build_handlers(AuditSettings(database_url="unused")), sessions=sessions,
        consumer=None, dlq_producer=None,
    )  # fmt: skip


def problems_in_traces(parents: list[str]) -> list[Envelope]:
    """A household's problem for each W3C traceparent, carried as its record's `traceparent`."""
    return [
        Envelope(**{**envelope_of(household_problem(uuid.uuid4())).__dict__, "traceparent": parent})
        for parent in parents
    ]


def kafka_records(envelopes: list[Envelope]) -> list[ConsumerRecord[bytes, bytes]]:
    return [
        ConsumerRecord(HOUSEHOLDS_TOPIC, 2, 40 + n, 0, 0, env.subject.encode(), env.data, None, 0, 0, env.to_headers())
        for n, env in enumerate(envelopes)
    ]


@pytest.mark.parametrize("events", [1, 3])
async def test_the_consumer_continues_each_event_s_trace(
    sqlite_url: Callable[[str], Awaitable[str]], events: int
) -> None:
    engine = create_engine(await sqlite_url("audit"))
    sessions = session_factory(engine)
    runner = audit_runner(sessions)
    parents = [f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01" for _ in range(events)]
    envelopes = problems_in_traces(parents)
    try:
        with captured_spans() as spans:
            assert await runner.process(kafka_records(envelopes)) == ["applied"] * events
        consumed = of_kind(spans.get_finished_spans(), SpanKind.CONSUMER, "process")
        assert len(consumed) == events
        for span, parent, env in zip(consumed, parents, envelopes, strict=True):
            assert span.name == f"process {HOUSEHOLDS_TOPIC}"
            assert span.parent is not None and span.parent.is_remote
            assert (hex_ids(span)[0], f"{span.parent.span_id:016x}") == (parent[3:35], parent[36:52])
            attributes = span.attributes or {}
            assert attributes["messaging.system"] == "kafka"
            assert attributes["messaging.destination.name"] == HOUSEHOLDS_TOPIC
            assert attributes["messaging.kafka.message.key"] == env.subject
            assert attributes["messaging.destination.partition.id"] == "2"
            assert attributes["messaging.kafka.offset"] in range(40, 40 + events)
            assert attributes["cloudevents.event_type"] == env.type
            assert attributes["cloudevents.event_id"] == env.id
            assert attributes["messaging.consumer.group.name"] == "audit"
        if events > 1:  # the transaction's own span links every event's trace
            [batch] = [s for s in spans.get_finished_spans() if s.name.startswith("apply")]
            assert {link.context.trace_id for link in batch.links} == {int(p[3:35], 16) for p in parents}
        # The events the handler recorded carry the consumer span's trace onward.
        by_trace = {hex_ids(span)[0]: traceparent(span) for span in consumed}
        saved = [tp for tp in await saved_traceparents(sessions) if tp]
        assert saved and all(tp[3:35] in by_trace and tp[:-3] == by_trace[tp[3:35]][:-3] for tp in saved)
        assert {tp[3:35] for tp in saved} == set(by_trace)
    finally:
        await engine.dispose()


# ---------------------------------------------------------------------------------------------------------------------
# Database statements


async def test_statements_are_traced_inside_a_trace_and_not_outside(households_db: AsyncEngine) -> None:
    with captured_spans() as spans:
        tracing.instrument_engine(households_db)
        async with households_db.connect() as conn:
            await conn.execute(text("SELECT 1"))  # outside any trace: a poll, a probe
            with trace.get_tracer("tests").start_as_current_span("request") as request:
                await conn.execute(text("SELECT 2"))
    [statement] = of_kind(spans.get_finished_spans(), SpanKind.CLIENT)
    assert statement.parent is not None and statement.parent.span_id == request.get_span_context().span_id
    assert (statement.attributes or {}).get("db.statement", (statement.attributes or {}).get("db.query.text")) == (
        "SELECT 2"
    )
