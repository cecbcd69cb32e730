"""Tests that look at spans: an in-memory exporter on the process's tracer provider while the block runs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared import tracing


@contextmanager
def captured_spans() -> Iterator[InMemorySpanExporter]:
    """Every span that ends inside the block, as it would be exported (redacted). Spans are exported only while an
    exporter is attached, so the block samples as a configured service would; add it before an app's lifespan starts
    for its database statements to be traced too."""
    tracing.configure_tracing("tests")
    exporter = InMemorySpanExporter()
    processor = tracing.export_to(exporter, batched=False)
    try:
        yield exporter
    finally:
        tracing.stop_exporting(processor)


def hex_ids(span: ReadableSpan) -> tuple[str, str]:
    """A span's trace and span id as logs and traceparents write them."""
    assert span.context is not None
    return f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"


def of_kind(spans: Sequence[ReadableSpan], kind: SpanKind, name_prefix: str = "") -> list[ReadableSpan]:
    return [s for s in spans if s.kind is kind and s.name.startswith(name_prefix)]
