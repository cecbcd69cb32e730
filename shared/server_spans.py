"""The SERVER span of each HTTP request (not health probes or metrics): what `shared/tracing.py` installs.

A pure ASGI middleware doing only what the platform's traces need: continue the caller's W3C trace, name the span
after the route template (`GET /v1/households/{household_id}`), record the response's status, and mark a failure by
its exception's type. The general OpenTelemetry ASGI middleware also parsed the URL, the client address and every
header into attributes (which the exporter then had to strip as possibly personal) and wrapped each message sent:
about a sixth of a short read's CPU, for attributes this platform never exports. FastAPI's own telemetry, which
would add a second SERVER span and one per dependency, endpoint and serialisation, is turned off (`NATIVE_OFF`).
"""

from __future__ import annotations

from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.access_log import route_template
from shared.metrics import HTTP_METHODS
from shared.tracing import EXCLUDED_PATHS, TRACER_NAME, context_from, mark_failed

# What every app is built with (`FastAPI(telemetry=NATIVE_OFF)`): the spans are this middleware's.
NATIVE_OFF = TelemetryConfig(tracing=False, metrics=False, logs=False, operation_spans=False)
_TRACEPARENT = b"traceparent"
_TRACER = trace.get_tracer(TRACER_NAME)  # the API's proxy: it follows the provider `configure_tracing` installs
SERVER_ERROR = 500
OTHER_METHOD = "_OTHER"  # OpenTelemetry's name for a method outside the standard ones


class ServerSpans:
    """ASGI middleware: each HTTP request in a current SERVER span, child of the caller's `traceparent` if any."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXCLUDED_PATHS:
            await self.app(scope, receive, send)
            return
        method = scope["method"] if scope["method"] in HTTP_METHODS else OTHER_METHOD  # the client's word: bounded
        caller = next((v.decode("latin-1") for k, v in scope["headers"] if k == _TRACEPARENT), None)
        status = 0

        async def answered(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with _TRACER.start_as_current_span(
            method,
            context=context_from(caller),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                await self.app(scope, receive, answered)
            except Exception as exc:
                if span.is_recording():
                    span.record_exception(exc, escaped=True)  # its message and stack are dropped on export
                mark_failed(span, exc)
                raise
            finally:
                if span.is_recording():
                    _describe(span, scope, method, status)


def _describe(span: Span, scope: Scope, method: str, status: int) -> None:
    route = route_template(scope)
    if route is not None:
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
    if status:
        span.set_attribute("http.response.status_code", status)
    if status >= SERVER_ERROR:
        span.set_status(Status(StatusCode.ERROR))
