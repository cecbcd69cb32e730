"""Prometheus metrics of every service, and the port they are served on.

The names are the ones operators alert on (README, Operations → Metrics); all start with `poverty_`. A pod runs one
worker, so the default registry is the whole pod's (no multiprocess mode). They are served on a port of their own
(`METRICS_PORT`, `/metrics`), never on the API's: API clients never reach them, and a NetworkPolicy admits the
monitoring namespace to that port only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from shared.commit_queue import CommitQueue

log = logging.getLogger(__name__)

# HTTP (shared/access_log.py): route is the template (/v1/households/{household_id}), "unmatched" when none matched.
HTTP_REQUESTS = Counter("poverty_http_requests_total", "HTTP requests answered", ["route", "method", "status"])
HTTP_REQUEST_SECONDS = Histogram(
    "poverty_http_request_duration_seconds", "Time to answer an HTTP request", ["route", "method"]
)
UNMATCHED_ROUTE = "unmatched"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # anything else is "other"

# The outbox (shared/messaging/backlog.py samples the backlog; relay.py publishes and holds the lock).
OUTBOX_BACKLOG = Gauge("poverty_outbox_backlog", "Outbox rows not yet published")
OUTBOX_OLDEST_AGE = Gauge(
    "poverty_outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished outbox row (0 when none)"
)
OUTBOX_PUBLISHED = Counter("poverty_outbox_published_total", "Outbox rows published to Kafka")
RELAY_LEADER = Gauge("poverty_relay_leader", "1 while this pod's relay holds the outbox lock and publishes")

# The consumer (shared/messaging/consumer.py).
CONSUMED_OUTCOMES = ("applied", "duplicate", "retried", "failed", "dead_lettered")
EVENTS_CONSUMED = Counter(
    "poverty_events_consumed_total", "Events handled by the consumer, by outcome", ["topic", "type", "outcome"]
)
EVENT_HANDLING_SECONDS = Histogram("poverty_event_handling_seconds", "Time to apply one event", ["topic"])
CONSUMER_LAG = Gauge(
    "poverty_consumer_lag",
    "Records of a partition not yet applied (high watermark - first not done)",
    ["topic", "partition"],
)
DEAD_LETTERS = Counter("poverty_dead_letters_total", "Records sent to a dead-letter topic, by source topic", ["topic"])
# Records the Kafka client could not unpack, kept in the service's database (shared/messaging/quarantine.py).
RECORDS_QUARANTINED = Counter(
    "poverty_records_quarantined_total",
    "Records the Kafka client could not unpack, quarantined with their raw bytes, by consumer and topic",
    ["consumer", "topic"],
)

# Kafka (shared/health.py watches the connection).
KAFKA_CONNECTED = Gauge("poverty_kafka_connected", "1 while the service's Kafka clients reach the cluster")
# The database's schema (shared/service.py waits for the release's migrations before the work that uses it).
SCHEMA_READY = Gauge(
    "poverty_schema_ready", "1 once the database's schema lets this pod consume, publish and run its scheduled work"
)

# Scheduled checks (audit's reminders, overdue scan, weekly handover, campaigns' coverage and grievances' reply
# deadlines; subsidies' cycle checks; projects' checks) and audit's findings.
SCHEDULED_CHECK_RUNS = Counter(
    "poverty_scheduled_check_runs_total",
    "Runs of the scheduled checks (audit's reminders, overdue, weekly_handover, coverage, grievance_deadlines; "
    "subsidies' cycle_checks; projects' project_checks)",
    ["check", "outcome"],
)
FINDINGS_OPENED = Counter("poverty_findings_opened_total", "Findings audit opened, by source", ["source"])
# Audit's notifications posted to the messaging system's webhook: delivered, failed (to be retried), dead (no more).
NOTIFICATION_DELIVERIES = Counter(
    "poverty_notification_deliveries_total", "Notification delivery attempts, by outcome", ["outcome"]
)

# Retention (shared/messaging/retention.py).
MESSAGING_ROWS_PURGED = Counter(
    "poverty_messaging_rows_purged_total", "Outbox, inbox and idempotency rows deleted by retention", ["table"]
)


_ON_COMMIT: CommitQueue[Any] = CommitQueue("metrics")  # counters to increment once the transaction commits


def count_on_commit(session: AsyncSession | Session, counter: Any) -> None:
    """Increment `counter` (a labelled child, e.g. `FINDINGS_OPENED.labels("manual")`) when the session's transaction
    commits: a transaction rolled back (and retried, as the consumer does) counts nothing."""
    _ON_COMMIT.add(session, counter)


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    for counter in _ON_COMMIT.take(session):
        counter.inc()


class PoolCollector(Collector):
    """The database pools' gauges, read at scrape time from the engines of the services running in this process
    (one in a pod): connections checked out now, and the most the pool hands out (its size plus overflow)."""

    def __init__(self) -> None:
        self._engines: list[AsyncEngine] = []
        self._lock = threading.Lock()  # scrapes run in the metrics server's thread

    def watch(self, engine: AsyncEngine) -> None:
        with self._lock:
            self._engines.append(engine)

    def forget(self, engine: AsyncEngine) -> None:
        with self._lock:
            if engine in self._engines:
                self._engines.remove(engine)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            pools = [engine.sync_engine.pool for engine in self._engines]
        yield GaugeMetricFamily(
            "poverty_db_pool_checked_out",
            "Database connections in use now",
            value=sum(_call(pool, "checkedout") for pool in pools),
        )
        yield GaugeMetricFamily(
            "poverty_db_pool_size",
            "The most database connections the pool hands out (pool size plus overflow); more requests wait, then 503",
            value=sum(_call(pool, "size") + max(getattr(pool, "_max_overflow", 0), 0) for pool in pools),
        )


def _call(pool: Any, method: str) -> int:
    # QueuePool (PostgreSQL, SQLite files) counts; a pool kind without the method counts nothing.
    counter = getattr(pool, method, None)
    return int(counter()) if callable(counter) else 0


POOLS = PoolCollector()
REGISTRY.register(POOLS)


# Address -> the server serving it, its thread, and how many services use it.
_SERVERS: dict[tuple[str, int], tuple[WSGIServer, threading.Thread, int]] = {}
_SERVERS_LOCK = threading.Lock()


class MetricsServer:
    """`/metrics` on its own port, in a thread of its own. Several services in one process (tests) share one server
    per address: it starts with the first and stops with the last."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self._started = False

    def start(self) -> None:
        """Serve, unless the port is 0 (disabled); a port already taken by another process stops start-up."""
        if self.address[1] == 0 or self._started:
            return
        with _SERVERS_LOCK:
            running = _SERVERS.get(self.address)
            if running is None:
                host, port = self.address
                running = (*start_http_server(port, addr=host), 0)
            server, thread, users = running
            _SERVERS[self.address] = (server, thread, users + 1)
        self._started = True
        log.info("serving metrics", extra={"host": self.address[0], "port": self.address[1]})

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        with _SERVERS_LOCK:
            server, thread, users = _SERVERS.pop(self.address)
            if users > 1:
                _SERVERS[self.address] = (server, thread, users - 1)
                return
        server.shutdown()
        server.server_close()
        thread.join()
