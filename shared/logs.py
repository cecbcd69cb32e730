"""Structured JSON logs on stdout, one object per line.

Every line written inside a trace carries its `trace_id` and `span_id` (32 and 16 hex digits, as tracing backends
show them), and every line written while a request is served its `request_id` (set by the access log), so a line
leads to its request and its trace across services.

An outage does not flood the log (`RepeatFilter`): with the brokers away the Kafka client logs its failed connection
attempts dozens of times a second in a dozen ways, and the relay, the consumer and the health watch each retry and say
so. So the warnings of those sources are held back when they repeat: the first line of each kind passes, and the
same kind's later ones are counted while such warnings keep coming. A kind is what a line says and about what: its
logger, its message template and the record it names (topic, partition, offset, event id), so a line about one
record never stands in for a line about another (each dead letter, each quarantine is told), and one noisy kind
never hides another. The Kafka client's kind is its module's logger alone: each module tells one failure in many
templates. A summary says every `SUMMARY_EVERY_S` how many lines of each kind (logger and template) were held back;
when none of these warnings has come for `QUIET_AFTER_S`, one line says the failures stopped, after how long, and
how many lines were left out in all.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from shared.personal_data import redact_id_numbers

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# The id of the HTTP request being served (`shared.access_log`), None outside a request.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
# The sources (each a logger and its children) whose warnings repeat while a dependency is away: the Kafka client, the
# messaging modules (relay, consumer, producer, backlog), the health watch and the service's start-up.
QUIETED_LOGGERS = ("aiokafka", "shared.messaging", "shared.health", "shared.service")
# Libraries whose modules each tell one failure in many templates: a kind of theirs is the module's logger.
LIBRARIES = ("aiokafka",)
# The facts that name a record: a line naming one is never a repeat of a line naming another.
RECORD_FACTS = ("topic", "partition", "offset", "first_offset", "event_id")
SUMMARY_EVERY_S = 30.0  # while failures go on, how often a summary of what was held back is written
QUIET_AFTER_S = 15.0  # failures have stopped once none has been logged for this long (the relay retries every 5 s)
TICK_S = 1.0  # how often the summaries fall due when nothing is logged
_MAX_KINDS = 1000  # kinds of one outage counted apart at most; any later kind is counted among OTHER_KINDS
_MAX_SUMMARY_KINDS = 10  # kinds a summary names, the most frequent; the rest are counted together
_MAX_KIND_CHARS = 200  # a kind's name at most: a library may log a formatted message rather than a template
_MAX_TOLD = 10_000  # kinds of one outage remembered as told at most; the oldest is forgotten (it may pass again)
OTHER_KINDS = "other kinds"
log = logging.getLogger(__name__)


@dataclass
class _Outage:
    """A run of warnings from the quieted sources: when it started, when the last came, which kinds have been told
    and what was held back."""

    started: float
    last_seen: float
    last_summary: float
    told: dict[tuple[Any, ...], None] = field(default_factory=dict)  # the kinds whose first line passed, oldest first
    held: Counter[str] = field(default_factory=Counter)  # since the last summary, by "logger: message template"
    held_in_all: Counter[str] = field(default_factory=Counter)  # since it started


@dataclass(frozen=True)
class _Line:
    level: int
    msg: str
    extra: dict[str, Any]


class RepeatFilter(logging.Filter):
    """Holds back the repeated warnings of the quieted sources while they keep coming (see the module's docstring).
    Records below WARNING, and every other logger's, pass untouched. `tick()` writes a summary or the end line when
    one is due with nothing being logged; the lines go to this module's logger."""

    def __init__(
        self,
        loggers: tuple[str, ...] = QUIETED_LOGGERS,
        *,
        summary_every_s: float = SUMMARY_EVERY_S,
        quiet_after_s: float = QUIET_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._loggers, self._clock = loggers, clock
        self._summary_every_s, self._quiet_after_s = summary_every_s, quiet_after_s
        self._outage: _Outage | None = None
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        source = self._source(record.name) if record.levelno >= logging.WARNING else None
        now = self._clock()
        with self._lock:
            due = self._due(now)
            passes = self._count(record, source, now) if source is not None else True
        self._write(due)
        return passes

    def tick(self) -> None:
        """Write the summary or the end line if one is due."""
        with self._lock:
            due = self._due(self._clock())
        self._write(due)

    def _source(self, name: str) -> str | None:
        return next((p for p in self._loggers if name == p or name.startswith(f"{p}.")), None)

    def _count(self, record: logging.LogRecord, source: str, now: float) -> bool:
        outage = self._outage
        if outage is None:
            outage = self._outage = _Outage(started=now, last_seen=now, last_summary=now)
        outage.last_seen = now
        kind = _kind(record, source)
        if kind not in outage.told:
            outage.told[kind] = None
            if len(outage.told) > _MAX_TOLD:
                del outage.told[next(iter(outage.told))]
            return True
        name = f"{record.name}: {record.msg}"[:_MAX_KIND_CHARS]
        if name not in outage.held_in_all and len(outage.held_in_all) >= _MAX_KINDS:
            name = OTHER_KINDS
        outage.held[name] += 1
        outage.held_in_all[name] += 1
        return False

    def _due(self, now: float) -> list[_Line]:
        outage = self._outage
        if outage is None:
            return []
        if now - outage.last_seen >= self._quiet_after_s:
            self._outage = None
            total = sum(outage.held_in_all.values())
            if not total:  # a lone warning, told in full: nothing to add
                return []
            lasted = round(outage.last_seen - outage.started)
            return [
                _Line(
                    logging.INFO,
                    f"failures stopped after {lasted} s: {total:,} similar lines left out",
                    {"suppressed": total, "duration_s": lasted, **_by_kind(outage.held_in_all)},
                )
            ]
        if now - outage.last_summary >= self._summary_every_s:
            held, outage.held, outage.last_summary = outage.held, Counter(), now
            if held:
                count, since = sum(held.values()), round(now - outage.started)
                return [
                    _Line(
                        logging.WARNING,
                        f"failures go on ({since} s): {count:,} similar lines left out since the last summary",
                        {"suppressed": count, "duration_s": since, **_by_kind(held)},
                    )
                ]
        return []

    @staticmethod
    def _write(lines: list[_Line]) -> None:
        for line in lines:
            log.log(line.level, line.msg, extra=line.extra)


def _kind(record: logging.LogRecord, source: str) -> tuple[Any, ...]:
    """What a line says and about what (see the module's docstring)."""
    if source in LIBRARIES:
        return (record.name,)
    facts = tuple(str(getattr(record, fact, "")) for fact in RECORD_FACTS)
    return (record.name, str(record.msg)[:_MAX_KIND_CHARS], *facts)


def _by_kind(held: Counter[str]) -> dict[str, Any]:
    """The most frequent kinds held back, by name (redacted: a library may log a formatted message)."""
    top = held.most_common(_MAX_SUMMARY_KINDS)
    by_kind = {redact_id_numbers(kind): count for kind, count in top}
    rest = sum(held.values()) - sum(count for _, count in top)
    if rest:
        by_kind[OTHER_KINDS] = by_kind.get(OTHER_KINDS, 0) + rest
    return {"suppressed_by_kind": by_kind} if by_kind else {}


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
    """Send every logger's records to stdout as JSON, an outage's repeated warnings held back (`RepeatFilter`)."""
    # A line names none of where it was logged from (file, line, thread, process), so no record looks them up: a
    # stack walk and three look-ups were a third of an access-log line's cost (the logging cookbook's optimisations).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    repeats = RepeatFilter()
    handler.addFilter(repeats)  # on the handler: a logger's filter would not see its children's records
    _Ticker.follow(repeats)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    # aiosqlite's DEBUG records carry SQL parameters, which can be citizens' data.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class _Ticker:
    """One daemon thread per process ticking the service handler's `RepeatFilter`, so that a summary or the end of
    an outage is written on time even when nothing else is logged (an idle service after the brokers came back)."""

    _followed: RepeatFilter | None = None
    _thread: threading.Thread | None = None
    _lock = threading.Lock()

    @classmethod
    def follow(cls, repeats: RepeatFilter) -> None:
        with cls._lock:
            cls._followed = repeats
            if cls._thread is None:
                cls._thread = threading.Thread(target=cls._run, name="log-repeats", daemon=True)
                cls._thread.start()

    @classmethod
    def _run(cls) -> None:
        while True:
            time.sleep(TICK_S)
            followed = cls._followed
            if followed is not None:
                followed.tick()
