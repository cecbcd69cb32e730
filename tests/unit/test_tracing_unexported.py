"""Tracing as a service runs it by default, the SDK's provider exporting nowhere: each event consumed still gets a
CONSUMER span of its own in the trace its record carries (made without the sampler, `tracing._unrecorded_child`), and
what its handler records carries that trace on; each row the relay publishes gets a PRODUCER span of its own, the same
way, in the trace saved with the row."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from opentelemetry import context as otel_context
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags, TraceState
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from shared import tracing
from shared.db import create_engine, session_factory, unit_of_work
from shared.messaging.kafka import SharedProducer
from shared.messaging.outbox import OutboxSignal, record_event, session_info
from shared.messaging.relay import OutboxRelay
from tests.producer_fakes import FakeProducer
from tests.tracing_support import captured_spans
from tests.unit.test_tracing import _registered, audit_runner, kafka_records, problems_in_traces, saved_traceparents

TRACE, SPAN = 0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7
PARENTS = [
    None,
    SpanContext(TRACE, SPAN, is_remote=True, trace_flags=TraceFlags(0)),
    SpanContext(TRACE, SPAN, is_remote=True, trace_flags=TraceFlags(TraceFlags.RANDOM_TRACE_ID)),
    SpanContext(TRACE, SPAN, is_remote=True, trace_flags=TraceFlags(0), trace_state=TraceState([("vendor", "x")])),
]


@pytest.mark.parametrize("parent", PARENTS)
def test_an_unexported_consumer_span_is_the_one_the_provider_would_start(parent: SpanContext | None) -> None:
    tracing.configure_tracing("tests")
    assert not tracing.exporting()
    made = tracing._unrecorded_child(parent)
    assert made is not None
    context = tracing._context_of(parent)
    started = tracing._tracer().start_span("process t", context=context, kind=SpanKind.CONSUMER)
    assert not made.is_recording() and not started.is_recording()
    ours, theirs = made.get_span_context(), started.get_span_context()
    assert ours.is_valid and not ours.is_remote and ours.span_id != SPAN
    assert (ours.trace_flags, ours.trace_state, ours.is_remote) == (
        theirs.trace_flags,
        theirs.trace_state,
        theirs.is_remote,
    )
    if parent is not None:
        assert ours.trace_id == theirs.trace_id == TRACE


def test_a_sampled_parent_or_an_exporter_leaves_the_span_to_the_provider() -> None:
    tracing.configure_tracing("tests")
    sampled = SpanContext(TRACE, SPAN, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    assert tracing._unrecorded_child(sampled) is None
    with captured_spans():
        assert tracing._unrecorded_child(None) is None
        assert tracing._unrecorded_child(PARENTS[1]) is None


@pytest.mark.parametrize("flags", ["00", "02"])
async def test_unexported_the_consumer_carries_each_event_s_trace_on(
    sqlite_url: Callable[[str], Awaitable[str]], flags: str
) -> None:
    tracing.configure_tracing("tests")
    engine = create_engine(await sqlite_url("audit"))
    sessions = session_factory(engine)
    runner = audit_runner(sessions)
    parents = [f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-{flags}" for _ in range(3)]
    envelopes = problems_in_traces(parents)
    try:
        assert not tracing.exporting()
        assert await runner.process(kafka_records(envelopes)) == ["applied"] * 3
        saved = [tp for tp in await saved_traceparents(sessions) if tp]
        by_trace = {parent[3:35]: parent for parent in parents}
        assert saved and {tp[3:35] for tp in saved} == set(by_trace)
        for tp in saved:
            parent = by_trace[tp[3:35]]
            # A span of its own (not the producer's), unsampled, flagged as the parent is.
            assert tp[36:52] not in (parent[36:52], "0" * 16) and tp[-2:] == flags
    finally:
        await engine.dispose()


@pytest.mark.parametrize("flags", ["00", "02"])
async def test_unexported_the_relay_publishes_each_row_in_a_span_of_its_own_in_the_row_s_trace(
    sqlite_url: Callable[[str], Awaitable[str]], flags: str
) -> None:
    tracing.configure_tracing("tests")
    assert not tracing.exporting()
    saved = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-{flags}"
    engine = create_engine(await sqlite_url("households"))
    try:
        first, second = await _published_traceparents(engine, recorded_in=saved)
    finally:
        await engine.dispose()
    # In the saved trace, a span of its own (not the recorder's), unsampled, flagged as the saved context is.
    assert first[3:35] == saved[3:35] and first[36:52] not in (saved[36:52], "0" * 16) and first[-2:] == flags
    assert second[3:35] not in (saved[3:35], "0" * 32) and second[-2:] in ("00", "02")  # a trace of its own


async def _published_traceparents(engine: AsyncEngine, *, recorded_in: str) -> list[str]:
    """The traceparent headers the relay sends for two rows: one recorded in the trace `recorded_in`, one outside."""
    signal = OutboxSignal()
    sessions = async_sessionmaker(engine, expire_on_commit=False, info=session_info(signal))
    token = otel_context.attach(tracing.context_from(recorded_in))
    try:
        async with unit_of_work(sessions) as session:
            record_event(session, _registered("H-1"), source="/tests")
    finally:
        otel_context.detach(token)
    async with unit_of_work(sessions) as session:
        record_event(session, _registered("H-2"), source="/tests")
    producer = FakeProducer()
    shared_producer = SharedProducer(lambda: producer)
    await shared_producer.start()
    assert await OutboxRelay(engine=engine, producer=shared_producer, signal=signal).publish_pending() == 2
    return [headers["traceparent"].decode() for headers in producer.headers]
