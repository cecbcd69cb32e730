"""The access log: one JSON line per HTTP request, and a request id that follows the request.

Each line names the method, the route template (`/households/{household_id}`, never the path as sent: a path may
carry an identifier, and the query string or the body personal data, so neither is logged), the status, the time
taken in milliseconds and the request id. The id is the caller's `X-Request-ID` when it is well formed (1-64
characters of letters, digits, `.`, `_` and `-`), otherwise a new one; either way it is echoed in the response's
`X-Request-ID` header and kept in `request.state.request_id` and in `shared.logs.REQUEST_ID`, so a caller and
every log line written while the request is served name the same request.

Health probes (`/livez`, `/readyz`) come every few seconds to every pod: they are logged at DEBUG, everything else at
INFO. Every request is also counted in the HTTP metrics (`count_request`), by route template, method and status,
probes included: the error-rate alert and dashboard panel leave them out (`route!~"/livez|/readyz"`).

A pure ASGI middleware: Starlette's BaseHTTPMiddleware would run every request through an extra task and stream.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from uuid import uuid4

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logs import REQUEST_ID
from shared.metrics import HTTP_METHODS, HTTP_REQUEST_SECONDS, HTTP_REQUESTS, UNMATCHED_ROUTE
from shared.openapi import API_PREFIX

HEADER = "x-request-id"
_HEADER_BYTES = HEADER.encode("latin-1")
_WELL_FORMED = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)
QUIET_PATHS = frozenset({"/livez", "/readyz"})
UNHANDLED_STATUS = 500  # what the server answers when the application raised before it started a response

log = logging.getLogger(__name__)


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's request id if it sent a well-formed one, else a new one (32 hex digits)."""
    for name, value in headers:
        if name.lower() == _HEADER_BYTES:
            candidate = value.decode("latin-1")
            if _WELL_FORMED.fullmatch(candidate):
                return candidate
            break
    return uuid4().hex


def route_template(scope: Scope) -> str | None:
    """The path template of the route that handled the request; None when no route matched (a 404)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return None
    # FastAPI keeps an included router's prefix apart from its routes: put the version prefix back.
    versioned = scope["path"].startswith(API_PREFIX + "/") and not path.startswith(API_PREFIX + "/")
    return API_PREFIX + path if versioned else path


class AccessLog:
    """ASGI middleware: logs each HTTP request once it is answered, and tags it with a request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope["headers"])
        scope.setdefault("state", {})["request_id"] = request_id
        bound = REQUEST_ID.set(request_id)  # every log line written while the request is served names it
        status = UNHANDLED_STATUS
        started = time.perf_counter()

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != _HEADER_BYTES]
                headers.append((_HEADER_BYTES, request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            duration, route = time.perf_counter() - started, route_template(scope)
            count_request(route, scope["method"], status, duration)
            level = logging.DEBUG if scope["path"] in QUIET_PATHS else logging.INFO
            if log.isEnabledFor(level):
                log.log(
                    level,
                    "http request",
                    extra={
                        "method": scope["method"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(duration * 1000, 1),
                        "request_id": request_id,
                    },
                )
            REQUEST_ID.reset(bound)


def count_request(route: str | None, method: str, status: int, duration_s: float) -> None:
    """The request in `poverty_http_requests_total` and `poverty_http_request_duration_seconds`. Labels are bounded:
    the route template (never the path) and the standard methods, whatever a client sends."""
    counted, timed = _series(route or UNMATCHED_ROUTE, method if method in HTTP_METHODS else "other", status)
    counted.inc()
    timed.observe(duration_s)


@functools.cache  # bounded as the labels are: routes x methods x statuses
def _series(route: str, method: str, status: int) -> tuple[Counter, Histogram]:
    # A labelled child is looked up under a lock with its labels checked and joined each time: once is enough.
    return HTTP_REQUESTS.labels(route, method, str(status)), HTTP_REQUEST_SECONDS.labels(route, method)
