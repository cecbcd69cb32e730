"""Structured JSON logs on stdout, one object per line.

Every line written inside a trace carries its `trace_id` and `span_id` (32 and 16 hex digits, as tracing backends
show them), and every line written while a request is served its `request_id` (set by the access log), so a line
leads to its request and its trace across services.

The Kafka client's own lines are rate-limited (`RateLimitFilter`): with the brokers away aiokafka logs its failed
connection attempts dozens of times a second. The first line of each kind passes, then at most one per kind every
`RATE_LIMIT_WINDOW_S`, carrying `suppressed`: how many lines of its kind were left out since the last one passed.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from shared.personal_data import redact_id_numbers

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# The id of the HTTP request being served (`shared.access_log`), None outside a request.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
RATE_LIMIT_WINDOW_S = 30.0  # at most one line of a kind per this many seconds from a rate-limited logger
RATE_LIMITED_LOGGERS = ("aiokafka",)  # and their children
_MAX_KINDS = 1000  # kinds remembered at most (a line's kind is its logger, level and message template)


class RateLimitFilter(logging.Filter):
    """Lets through the first record of each kind (logger, level, message template) from the `loggers` (and their
    children), then at most one per kind every `window_s` seconds; the one that passes carries `suppressed`, the
    number of that kind's records dropped since the last one passed. Records of other loggers all pass."""

    def __init__(
        self,
        loggers: tuple[str, ...] = RATE_LIMITED_LOGGERS,
        window_s: float = RATE_LIMIT_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._loggers, self._window_s, self._clock = loggers, window_s, clock
        self._kinds: dict[tuple[str, int, str], tuple[float, int]] = {}  # kind -> (when one last passed, dropped)
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if not any(record.name == name or record.name.startswith(f"{name}.") for name in self._loggers):
            return True
        kind = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        with self._lock:
            passed = self._kinds.get(kind)
            if passed is not None and now - passed[0] < self._window_s:
                self._kinds[kind] = (passed[0], passed[1] + 1)
                return False
            if passed is None and len(self._kinds) >= _MAX_KINDS:
                self._kinds.clear()
            self._kinds[kind] = (now, 0)
        if passed is not None and passed[1]:
            record.suppressed = passed[1]
        return True


class JsonFormatter(logging.Formatter):
    """Renders a record and its `extra` fields as JSON; an ID-card number that reached a message or an exception's
    text (a library quoting its input) is redacted, however it was typed."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": redact_id_numbers(record.getMessage()),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"], entry["span_id"] = f"{span.trace_id:032x}", f"{span.span_id:016x}"
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = redact_id_numbers(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every logger's records to stdout as JSON."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(RateLimitFilter())  # on the handler: a logger's filter would not see its children's records
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    # aiosqlite's DEBUG records carry SQL parameters, which can be citizens' data.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
