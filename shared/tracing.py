"""OpenTelemetry tracing: a span per HTTP request, per database statement, per event published and consumed.

Configured only by the standard `OTEL_*` variables, and off by default: with no exporter configured a service
exports nowhere and starts no sampled trace of its own, yet its spans are still created (non-recording, so cheap)
and carry trace ids, which reach the log lines (`shared/logs.py`) and travel on with the events; a caller's
sampled trace is continued. The exporters:

- `OTEL_TRACES_EXPORTER`: `otlp` (OTLP over HTTP/protobuf, to `OTEL_EXPORTER_OTLP_ENDPOINT` or
  `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), `console` or `none`, comma-separated. Unset, it is `otlp` when an OTLP
  endpoint is set and `none` otherwise (the OpenTelemetry default, `otlp` to localhost, would send every
  development run's spans to a port nobody listens on). `console` writes the spans to stderr: stdout is the log,
  one JSON object per line (`shared/logs.py`), which the SDK's multi-line span dumps would break.
- `OTEL_SDK_DISABLED=true`: no SDK at all; contexts received still pass through unchanged.
- `OTEL_SERVICE_NAME` (default: the service's name), `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER` and
  `OTEL_TRACES_SAMPLER_ARG` (default `parentbased_always_on`), `OTEL_BSP_*` and `OTEL_EXPORTER_OTLP_*`, as the
  OpenTelemetry SDK reads them.

Spans leave the process without what may carry personal data: no URL, path or query string (the route template
`http.route` names the operation), no exception message or stack trace (only the exception's type), no status
text. SQL statements are exported with their placeholders; parameter values never reach a span.

Across Kafka the context goes as the CloudEvents distributed-tracing extension, the W3C `traceparent` header:
`record_event` saves the current one with the event in the outbox row; the relay publishes each row in a
PRODUCER span, child of that saved context, and sends the span's own traceparent; the consumer applies each
event in a CONSUMER span whose parent is the context the record carries. An event recorded by a handler thus
carries the same trace on, so one trace runs from an HTTP request through every service its events reach.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider, sampling
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

if TYPE_CHECKING:
    from aiokafka import ConsumerRecord
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine

    from shared.messaging.cloudevents import Envelope
    from shared.messaging.outbox import PublishedRow

log = logging.getLogger(__name__)
TRACER_NAME = "poverty"
# Health probes and scrapes come every few seconds from every pod: no span (their statements none either).
EXCLUDED_PATHS = frozenset({"/livez", "/readyz", "/metrics"})
# Attributes that quote the request as sent: its path may carry an identifier, its query string personal data.
PRIVATE_ATTRIBUTES = frozenset({"http.url", "url.full", "http.target", "url.path", "url.query"})
EXCEPTION_FACTS = frozenset({"exception.type", "exception.escaped"})  # not its message nor its stack trace
_W3C = TraceContextTextMapPropagator()
_SDK_METRICS = "OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED"
_TRACEPARENT_00 = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


def _disabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


class _Exports(SpanProcessor):
    """Where finished spans go: the configured exporters (none by default), each span stripped of what may carry
    personal data first. Exporters can be added while the process runs (tests add an in-memory one)."""

    def __init__(self) -> None:
        self.processors: list[SpanProcessor] = []

    def on_end(self, span: ReadableSpan) -> None:
        if self.processors:
            private = redacted(span)
            for processor in tuple(self.processors):  # a test may remove its exporter meanwhile
                processor.on_end(private)

    def shutdown(self) -> None:
        for processor in self.processors:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(processor.force_flush(timeout_millis) for processor in self.processors)


_EXPORTS = _Exports()


class _Sampler(sampling.Sampler):
    """The configured sampler while spans are exported; otherwise no new trace is sampled (spans stay
    non-recording, only their ids are made) while a caller's sampled trace is continued. Either way a database
    statement outside any request or event (polls, probes, scheduled scans) is not sampled: it would be a trace of
    one statement."""

    def __init__(self, exporting: sampling.Sampler) -> None:
        self._exporting = exporting
        self._quiet = sampling.ParentBased(sampling.ALWAYS_OFF)

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> sampling.SamplingResult:
        if kind is SpanKind.CLIENT and not trace.get_current_span(parent_context).get_span_context().is_valid:
            return sampling.SamplingResult(sampling.Decision.DROP)
        chosen = self._exporting if _EXPORTS.processors else self._quiet
        return chosen.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"Poverty{{exporting={self._exporting.get_description()}}}"


_configured = False
# The process's provider while its spans may go unrecorded cheaply (`_unrecorded_child`): None before
# `configure_tracing`, when the SDK is disabled, or when the SDK counts its own spans (a metric this path would skip).
_QUIET: TracerProvider | None = None


def configure_tracing(service: str) -> None:
    """Install the process's tracer provider from the `OTEL_*` variables (once per process; later calls do nothing).
    `service` is the default `service.name`."""
    global _configured, _QUIET  # noqa: PLW0603 - one tracer provider per process
    if _configured:
        return
    _configured = True
    if _disabled():
        log.info("tracing disabled (OTEL_SDK_DISABLED)")
        return
    for exporter in exporters_from_env():
        export_to(exporter)
    provider = TracerProvider(resource=resource_for(service), sampler=_Sampler(sampling._get_from_env_or_default()))
    provider.add_span_processor(_EXPORTS)
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is provider and os.environ.get(_SDK_METRICS, "").strip().lower() != "true":
        _QUIET = provider


def resource_for(service: str) -> Resource:
    """The resource every span names: `service.name` from `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES`, else
    `service`; the other attributes of `OTEL_RESOURCE_ATTRIBUTES`."""
    named = OTELResourceDetector().detect().attributes.get(SERVICE_NAME)
    return Resource.create({} if named else {SERVICE_NAME: service})


def exporters_from_env() -> list[SpanExporter]:
    """The exporters `OTEL_TRACES_EXPORTER` names; unset, OTLP when an OTLP endpoint is set, else none."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    names = os.environ.get("OTEL_TRACES_EXPORTER", "otlp" if endpoint else "none")
    exporters: list[SpanExporter] = []
    for name in {n.strip().lower() for n in names.split(",")} - {"", "none"}:
        if name == "otlp":
            exporters.append(_otlp_exporter())
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter(out=sys.stderr))  # stdout is the JSON log
        else:
            log.warning("unknown OTEL_TRACES_EXPORTER; ignored", extra={"exporter": name})
    return exporters


def _otlp_exporter() -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol not in (None, "", "http/protobuf"):
        log.warning("only OTLP over http/protobuf is installed; exporting with it", extra={"protocol": protocol})
    return OTLPSpanExporter()


def export_to(exporter: SpanExporter, *, batched: bool = True) -> SpanProcessor:
    """Send finished spans to `exporter` too (in batches from a background thread, or at once); returns the
    processor, for `stop_exporting`."""
    processor: SpanProcessor = BatchSpanProcessor(exporter) if batched else SimpleSpanProcessor(exporter)
    _EXPORTS.processors.append(processor)
    return processor


def stop_exporting(processor: SpanProcessor) -> None:
    """Flush and remove a processor `export_to` added."""
    _EXPORTS.processors.remove(processor)
    processor.shutdown()


def exporting() -> bool:
    """Whether spans go anywhere."""
    return bool(_EXPORTS.processors)


def redacted(span: ReadableSpan) -> ReadableSpan:
    """`span` without the attributes that quote the request as sent, exception messages and stack traces, and
    status text (an exception's text may quote a database row or the input)."""
    attributes = span.attributes or {}
    if (
        not PRIVATE_ATTRIBUTES & attributes.keys()
        and span.status.description is None
        and not any(event.name == "exception" for event in span.events)
    ):
        return span
    events = [
        Event(e.name, {k: v for k, v in (e.attributes or {}).items() if k in EXCEPTION_FACTS}, e.timestamp)
        if e.name == "exception"
        else e
        for e in span.events
    ]
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes={k: v for k, v in attributes.items() if k not in PRIVATE_ATTRIBUTES},
        events=events,
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def install_tracing(app: FastAPI, service: str) -> None:
    """Configure the process's tracing (once) and give `app` a server span per request, health and metrics
    excluded. The span is outermost, so the access log line of a request carries its trace id."""
    configure_tracing(service)
    if _disabled():
        return
    from shared.server_spans import ServerSpans

    app.add_middleware(ServerSpans)


def instrument_engine(engine: AsyncEngine) -> None:
    """A CLIENT span per statement the engine runs, when spans are exported (statements outside a request or event
    are not sampled: see `_Sampler`). The official SQLAlchemy instrumentation's engine tracer, attached to the async
    engine's sync engine, where the statements run: `SQLAlchemyInstrumentor().instrument()` is one per process and
    also patches `create_engine` and every `Engine.connect` process-wide."""
    if not exporting() or _disabled():
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.instrumentation.sqlalchemy.version import __version__ as version

    tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy", version)
    usage = metrics.get_meter("opentelemetry.instrumentation.sqlalchemy", version).create_up_down_counter(
        "db.client.connections.usage", unit="connections"
    )
    EngineTracer(tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, None outside any trace."""
    return traceparent_of(trace.get_current_span())


def traceparent_of(span: Span) -> str | None:
    """The W3C traceparent that makes children of `span`; None for an invalid span (no trace)."""
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def context_from(traceparent: str | None) -> otel_context.Context:
    """The context a W3C traceparent names; an empty one (a new trace) when absent or malformed."""
    return _context_of(_remote_span_context(traceparent))


def _context_of(parent: trace.SpanContext | None) -> otel_context.Context:
    if parent is None:
        return otel_context.Context()
    return trace.set_span_in_context(trace.NonRecordingSpan(parent), otel_context.Context())


def _remote_span_context(traceparent: str | None) -> trace.SpanContext | None:
    """The span a W3C traceparent names, None when absent or malformed. The version-00 form every producer writes is
    read here (every event consumed carries one: the propagator's general path costs a few microseconds more); any
    other goes to the propagator, which judges it."""
    if not traceparent:
        return None
    match = _TRACEPARENT_00.fullmatch(traceparent)
    if match is None:
        ctx = trace.get_current_span(_W3C.extract({"traceparent": traceparent}, otel_context.Context()))
        found = ctx.get_span_context()
        return found if found.is_valid else None
    trace_id, span_id = int(match[1], 16), int(match[2], 16)
    if not trace_id or not span_id:
        return None
    return trace.SpanContext(trace_id, span_id, is_remote=True, trace_flags=trace.TraceFlags(int(match[3], 16)))


@functools.cache
def _tracer() -> trace.Tracer:
    # Looked up once: a look-up costs microseconds, and every event published or consumed starts a span. Looked up
    # before `configure_tracing`, it is the API's proxy, which follows the provider installed later.
    return trace.get_tracer(TRACER_NAME)


def _event_attributes(topic: str, key: str, event_id: str, event_type: str) -> dict[str, Any]:
    return {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.kafka.message.key": key,  # an aggregate id (a household's, a finding's): no personal data
        "messaging.message.id": event_id,
        "cloudevents.event_id": event_id,
        "cloudevents.event_type": event_type,
    }


def start_publish_span(row: PublishedRow) -> Span:
    """The PRODUCER span of one outbox row's publication, child of the context saved with the row; end it with
    `end_publish_span` once Kafka answered."""
    parent = _remote_span_context(row.traceparent)
    unrecorded = _unrecorded_child(parent)
    if unrecorded is not None:
        return unrecorded
    attributes = _event_attributes(row.topic, row.key, row.event_id, row.event_type)
    attributes.update({"messaging.operation.type": "send", "messaging.operation.name": "send"})
    return _tracer().start_span(
        f"send {row.topic}", context=_context_of(parent), kind=SpanKind.PRODUCER, attributes=attributes
    )


def end_publish_span(span: Span, failure: BaseException | None, *, partition: int = -1, offset: int = -1) -> None:
    """End a publication's span with Kafka's answer: the failure, or where the record went (-1: not known)."""
    if failure is not None:
        _failed(span, failure)
    elif span.is_recording() and partition >= 0:
        span.set_attribute("messaging.destination.partition.id", str(partition))
        span.set_attribute("messaging.kafka.offset", offset)
    span.end()


def consuming(
    record: ConsumerRecord[bytes, bytes], envelope: Envelope, *, consumer: str
) -> AbstractContextManager[Span]:
    """The CONSUMER span of one event's handling, current inside the block, child of the context the record
    carries (a new trace when it carries none)."""

    def attributes() -> dict[str, Any]:
        described = _event_attributes(record.topic, envelope.subject, envelope.id, envelope.type)
        described.update(
            {
                "messaging.operation.type": "process",
                "messaging.operation.name": "process",
                "messaging.consumer.group.name": consumer,
                "messaging.destination.partition.id": str(record.partition),
                "messaging.kafka.offset": record.offset,
                "cloudevents.event_source": envelope.source,
            }
        )
        return described

    return _Current(_consumer_span(record.topic, envelope.traceparent, attributes))


def consuming_record(record: ConsumerRecord[bytes, bytes], *, consumer: str) -> AbstractContextManager[Span]:
    """The CONSUMER span of a record that is no valid event (dead-lettered as poison), current inside the block:
    child of the `traceparent` header the record carries when it can be read, else a new trace. Its event id and
    type are named when the record's headers carry them readably."""
    headers = _readable_headers(record)
    attributes: dict[str, Any] = {
        "messaging.system": "kafka",
        "messaging.destination.name": record.topic,
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.consumer.group.name": consumer,
        "messaging.destination.partition.id": str(record.partition),
        "messaging.kafka.offset": record.offset,
    }
    if "ce_id" in headers:
        attributes["messaging.message.id"] = attributes["cloudevents.event_id"] = headers["ce_id"]
    if "ce_type" in headers:
        attributes["cloudevents.event_type"] = headers["ce_type"]
    return _Current(_consumer_span(record.topic, headers.get("traceparent"), lambda: attributes))


def _consumer_span(topic: str, traceparent: str | None, attributes: Callable[[], dict[str, Any]]) -> Span:
    """A CONSUMER span under `traceparent` (a new trace without one). Its attributes are written only when it records
    (a sampler sees them while spans are exported): unexported, a span per event need not describe itself."""
    parent = _remote_span_context(traceparent)
    unrecorded = _unrecorded_child(parent)
    if unrecorded is not None:
        return unrecorded
    described = attributes() if _EXPORTS.processors else None
    span = _tracer().start_span(
        f"process {topic}",
        context=_context_of(parent),
        kind=SpanKind.CONSUMER,
        attributes=described,
        record_exception=False,
        set_status_on_exception=False,
    )
    if described is None and span.is_recording():
        span.set_attributes(attributes())
    return span


def _unrecorded_child(parent: trace.SpanContext | None) -> Span | None:
    """The span the process's provider starts under `parent` (a new trace when None) when `_Sampler` will not record
    it: no exporter, and a parent not sampled. The provider's own path asks the sampler and builds its result,
    most of what an event's span costs; this one makes the same span context (ids from the provider's generator,
    the parent's trace state, the random-trace-id flag as the SDK sets it, not sampled). None: ask the provider."""
    provider = _QUIET
    if provider is None or _EXPORTS.processors or (parent is not None and parent.trace_flags.sampled):
        return None
    ids = provider.id_generator
    if parent is None:
        trace_id, random_id, state = ids.generate_trace_id(), ids.is_trace_id_random(), None
    else:
        trace_id, random_id, state = parent.trace_id, parent.trace_flags.random_trace_id, parent.trace_state
    flags = trace.TraceFlags(trace.TraceFlags.RANDOM_TRACE_ID if random_id else trace.TraceFlags.DEFAULT)
    span_id = ids.generate_span_id()
    return trace.NonRecordingSpan(trace.SpanContext(trace_id, span_id, False, flags, state))


class _Current(AbstractContextManager[Span]):
    """`span` current inside the block and ended after it, marked failed by an exception that escapes (what
    `start_as_current_span` does, without its layers of context managers: the runner opens one per event)."""

    __slots__ = ("_span", "_token")

    def __init__(self, span: Span) -> None:
        self._span = span

    def __enter__(self) -> Span:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self._span

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if isinstance(exc, Exception):
            _failed(self._span, exc)
        otel_context.detach(self._token)
        self._span.end()


def _readable_headers(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    """The record's tracing and event-id headers that decode as UTF-8 (a poison record's may not)."""
    readable: dict[str, str] = {}
    for key, value in record.headers or ():
        if key in ("traceparent", "ce_id", "ce_type") and isinstance(value, bytes) and key not in readable:
            try:
                readable[key] = value.decode()[:200]
            except UnicodeDecodeError:
                continue
    return readable


@contextmanager
def consuming_batch(topic: str, envelopes: Sequence[Envelope], *, consumer: str) -> Iterator[Span]:
    """The span of a transaction applying several events of one partition, linked to each event's context; each
    event's own CONSUMER span (`consuming`) stays in its event's trace."""
    # Linked at the start while spans are exported (a sampler may read the links); unexported, the span is a root the
    # process's sampler does not record, and its links are read only if it records all the same.
    linked = exporting()
    links = _links(envelopes) if linked else []
    attributes: dict[str, Any] = {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.consumer.group.name": consumer,
        "messaging.batch.message_count": len(envelopes),
    }
    with _tracer().start_as_current_span(
        f"apply {topic} batch",
        context=otel_context.Context(),
        links=links,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        if not linked and span.is_recording():
            for link in _links(envelopes):
                span.add_link(link.context)
        try:
            yield span
        except Exception as exc:
            _failed(span, exc)
            raise


def _links(envelopes: Sequence[Envelope]) -> list[Link]:
    return [Link(ctx) for e in envelopes if (ctx := _remote_span_context(e.traceparent)) is not None]


def mark_failed(span: Span, exc: BaseException) -> None:
    """Mark `span` failed by `exc` (a failure caught inside it): the exception's type only."""
    _failed(span, exc)


def _failed(span: Span, exc: BaseException) -> None:
    # The type only: an exception's text may quote a database row or an event's payload.
    span.set_attribute("error.type", type(exc).__qualname__)
    span.set_status(Status(StatusCode.ERROR))


@contextmanager
def job_span(name: str) -> Iterator[Span]:
    """A command-line job's root span (its log lines carry its trace id)."""
    with _tracer().start_as_current_span(name, record_exception=False, set_status_on_exception=False) as span:
        try:
            yield span
        except Exception as exc:
            _failed(span, exc)
            raise


@contextmanager
def traced_job(service: str, name: str) -> Iterator[Span]:
    """A command-line job of `service` run in one root span, exported (with the job's end) when an exporter is
    configured. The events a bulk job writes do not carry its trace: one trace of a million events helps no one."""
    configure_tracing(service)
    try:
        with job_span(name) as span:
            yield span
    finally:
        trace_provider = trace.get_tracer_provider()
        if isinstance(trace_provider, TracerProvider):
            trace_provider.force_flush()
