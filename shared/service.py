"""The one way a service is assembled: database, outbox relay, consumer, auth, errors, health.

Each service's `app.py` describes itself with a `ServiceSpec`; `build_app` does the rest, so all four
services start, stop and fail the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker

from shared.access_log import AccessLog
from shared.api.docs import serve_api_documents
from shared.auth import TokenVerifier
from shared.body_limit import BodyLimit
from shared.contracts import ALL_TOPICS
from shared.db import create_engine, reading_engine, reading_sessions
from shared.error_documents import install_error_handlers
from shared.health import router as health_router
from shared.health import watch_kafka
from shared.logs import configure_logging
from shared.messaging.backlog import sample_outbox
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.failure_facts import log_facts
from shared.messaging.handlers import HandlerRegistry
from shared.messaging.kafka import SharedProducer, ensure_topics, make_consumer, make_producer
from shared.messaging.outbox import OutboxSignal, session_info
from shared.messaging.relay import Backoff, OutboxRelay
from shared.messaging.retention import purge_periodically
from shared.metrics import POOLS, SCHEMA_READY, MetricsServer
from shared.migrations import SchemaRevision, schema_revision
from shared.openapi import API_PREFIX, install_api_documentation, operation_id
from shared.server_spans import NATIVE_OFF
from shared.settings import ServiceSettings
from shared.tracing import install_tracing, instrument_engine

log = logging.getLogger(__name__)
SCHEMA_BEHIND = "waiting for the database's schema to reach this release's migrations"
SCHEMA_AHEAD = "the database's schema is a later release's: this pod handles events but stays unready for requests"
Worker = Callable[["ServiceRuntime"], Coroutine[Any, Any, None]]
# Each shutdown step gets this long: a client whose broker is down can wait forever (a producer for batches that
# never expire), and the database pool must be released regardless.
SHUTDOWN_STEP_TIMEOUT_S = 10.0
SHUTDOWN_STEPS = 4  # background tasks, consumer, producer, database pool (`ServiceRuntime.stop`)


@dataclass
class ServiceSpec:
    """What makes one service different from the others."""

    name: str
    title: str
    settings: ServiceSettings
    routers: Sequence[APIRouter]
    description: str = ""  # the OpenAPI document's `info.description`: what the service owns, in the domain's words
    handlers: HandlerRegistry = field(default_factory=HandlerRegistry)
    workers: Sequence[Worker] = ()  # background jobs (e.g. scheduled checks) run for the service's lifetime


class ServiceRuntime:
    """The live resources of a running service, kept on `app.state.runtime`."""

    def __init__(self, spec: ServiceSpec) -> None:
        self.name, self.settings, self.handlers, self.workers = spec.name, spec.settings, spec.handlers, spec.workers
        self.kafka_security = spec.settings.kafka_security()
        # The pod's connections (shared/db.py, MAX_CONNECTIONS_PER_ENGINE): a pool for writes and one for reads. No
        # overflow: under a steady load above the pool's size an overflow connection is opened and closed again for
        # every request, which costs more than the request's own statements.
        self.engine = create_engine(spec.settings.database_url, max_overflow=0)
        self.reading_engine = reading_engine(spec.settings.database_url, max_overflow=0)
        for engine in (self.engine, self.reading_engine):
            instrument_engine(engine)  # a span per statement, when spans are exported
        self.signal = OutboxSignal()
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, info=session_info(self.signal))
        self.reading = reading_sessions(self.reading_engine)
        self.producers = SharedProducer(self._producer)  # the relay's and the dead-letter path's, renewed as one
        self.consumer: AIOKafkaConsumer | None = None
        self.relay: OutboxRelay | None = None
        self.producer_started = False  # the cluster can be asked whether it answers (shared.health.watch_kafka)
        self.kafka_started = False  # every client has started: the consumer is in its group
        self.kafka_connected = False  # kept current by shared.health.watch_kafka
        self.schema_current = False  # the database's schema is this release's (`/readyz` shows it)
        self._schema_ready = asyncio.Event()  # no release's migrations are still to run (`schema_revision.behind`)
        self.metrics = MetricsServer(spec.settings.host, spec.settings.metrics_port)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.metrics.start()  # first: a metrics port taken by another process stops start-up before anything runs
        POOLS.watch(self.engine)
        POOLS.watch(self.reading_engine)
        self._tasks.append(asyncio.create_task(self._wait_for_schema(), name=f"{self.name}-schema"))
        if self.settings.kafka_enabled:
            self._tasks.append(asyncio.create_task(self._run_kafka(), name=f"{self.name}-kafka"))
            self._tasks.append(asyncio.create_task(watch_kafka(self), name=f"{self.name}-kafka-watch"))
        self._tasks.append(asyncio.create_task(sample_outbox(self.engine), name=f"{self.name}-outbox-backlog"))
        s = self.settings
        retention = purge_periodically(self.engine, s.retention_policy(), s.retention_interval_s)
        self._start_on_schema("retention", retention)
        for worker in self.workers:
            # Called now: a worker may set up what the service's use cases need before any request (audit's webhook
            # delivery marks the sessions' notifications pending); it runs once the schema allows.
            self._start_on_schema(getattr(worker, "__name__", "worker"), worker(self))

    def _start_on_schema(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        async def once_the_schema_allows() -> None:
            await self._schema_ready.wait()
            await work

        task = asyncio.create_task(once_the_schema_allows(), name=f"{self.name}-{name}")
        task.add_done_callback(lambda _: work.close())  # one stopped before it began is closed, not warned about
        self._tasks.append(task)

    def schema_is_current(self) -> None:
        """The database's schema is this release's (`/readyz` found it so, or start-up did)."""
        self.schema_current = True
        self._open_gate()

    def _open_gate(self) -> None:
        self._schema_ready.set()
        SCHEMA_READY.set(1)

    async def _wait_for_schema(self) -> None:
        """Wait until no migration of this release is still to run on the database, then let the work that uses the
        schema start: the consumer, the relay, retention and the service's workers. A pod may start while the
        migration job still runs (README, Deploying): a handler meeting a table or function not there yet fails for
        good, and the consumer would dead-letter every event that reached it. A schema of a later release (the
        Deployment rolled back, not the schema) is compatible (expand, then contract): the work runs, while `/readyz`
        keeps the pod out of the Service."""
        backoff = Backoff(0.5, 10.0)
        said = False
        while not self._schema_ready.is_set():
            try:
                revision = await schema_revision(self.engine, self.name)
            except Exception as exc:
                log.warning("the database's schema revision cannot be read yet; retrying", extra=log_facts(exc))
            else:
                if revision.at_head:
                    self.schema_is_current()
                elif not revision.behind:
                    log.error(SCHEMA_AHEAD, extra=_revisions(revision))
                    self._open_gate()
                elif not said:
                    log.warning(SCHEMA_BEHIND, extra=_revisions(revision))
                    said = True
            if not self._schema_ready.is_set():
                await backoff.sleep()
        if said:
            log.info("the database's schema reached this release's migrations")

    @property
    def producer(self) -> AIOKafkaProducer:
        """The producer in use now (readiness pings it)."""
        return self.producers.current

    async def stop(self) -> None:
        """Stop the background tasks and the clients, each step bounded; the database pool is released regardless."""
        for task in self._tasks:
            task.cancel()
        try:
            if self._tasks:
                await self._bounded("background tasks", asyncio.gather(*self._tasks, return_exceptions=True))
            if self.consumer is not None:
                await self._bounded("kafka consumer", self.consumer.stop())
            await self._bounded("kafka producer", self.producers.stop())
        finally:
            for engine in (self.engine, self.reading_engine):
                await self._bounded("database pool", engine.dispose())
                POOLS.forget(engine)
            await asyncio.to_thread(self.metrics.stop)

    async def _bounded(self, step: str, closing: Awaitable[Any]) -> None:
        # Shutdown goes on past a failing or hanging step, and past a step whose own work was cancelled (a Kafka
        # client's task cancelled under it after an outage); only a cancellation of the shutdown itself stops it.
        try:
            await asyncio.wait_for(closing, SHUTDOWN_STEP_TIMEOUT_S)
        except (Exception, asyncio.CancelledError) as exc:
            current = asyncio.current_task()
            if isinstance(exc, asyncio.CancelledError) and current is not None and current.cancelling():
                raise
            log.warning("shutdown step failed or timed out", extra={"step": step}, exc_info=True)

    async def _run_kafka(self) -> None:
        """Connect to Kafka (waiting out an outage at start-up); once the schema allows, join the consumer group and
        run the relay and the consumer. The producer starts first, so that `poverty_kafka_connected` says whether the
        cluster answers while the pod waits for its migrations; joining the group waits, or the group would hand the
        waiting pod partitions it does not consume."""
        s = self.settings
        await self._until_started(self._start_producer, self.producers.reset)
        await self._schema_ready.wait()
        await self._until_started(self._join_group, self._leave_group)
        self.kafka_started = True
        log.info("connected to kafka", extra={"bootstrap": s.kafka_bootstrap_servers})
        self.relay = OutboxRelay(
            engine=self.engine,
            producer=self.producers,
            signal=self.signal,
            poll_interval_s=s.outbox_poll_interval_s,
        )
        workers = [self.relay.run()]
        if self.handlers.topics and self.consumer is not None:
            runner = ConsumerRunner(
                name=self.name,
                handlers=self.handlers,
                sessions=self.sessions,
                consumer=self.consumer,
                dlq_producer=self.producers,
                max_attempts=s.consumer_max_attempts,
                backoff_s=s.consumer_retry_backoff_s,
                batch_size=s.consumer_batch_size,
            )
            workers.append(runner.run())
        await asyncio.gather(*workers)

    async def _until_started(self, start: Callable[[], Awaitable[None]], reset: Callable[[], Awaitable[None]]) -> None:
        """`start()` until it succeeds, waiting out an outage; a failed start leaves a half-open client, which
        `reset()` replaces before the next attempt."""
        backoff = Backoff(0.5, 10.0)
        while True:
            try:
                await start()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("kafka not reachable yet; retrying", exc_info=True)
                await reset()
                await backoff.sleep()

    async def _start_producer(self) -> None:
        s = self.settings
        if s.kafka_create_topics:
            await ensure_topics(
                s.kafka_bootstrap_servers,
                ALL_TOPICS,
                replication_factor=s.kafka_replication_factor,
                security=self.kafka_security,
            )
        await self.producers.start()
        self.producer_started = True

    async def _join_group(self) -> None:
        if not self.handlers.topics:
            return
        s = self.settings
        self.consumer = make_consumer(
            s.kafka_bootstrap_servers, group_id=self.name, topics=self.handlers.topics, security=self.kafka_security
        )
        await self.consumer.start()

    async def _leave_group(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
            self.consumer = None

    def _producer(self) -> AIOKafkaProducer:
        return make_producer(self.settings.kafka_bootstrap_servers, client_id=self.name, security=self.kafka_security)


def _revisions(revision: SchemaRevision) -> dict[str, str]:
    current, heads = ",".join(sorted(revision.current)) or "none", ",".join(sorted(revision.heads))
    return {"database_revision": current, "release_head": heads}


def build_app(spec: ServiceSpec) -> FastAPI:
    """The FastAPI application of a service."""
    configure_logging(spec.name, spec.settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = ServiceRuntime(spec)
        app.state.runtime = runtime
        app.state.sessions = runtime.sessions
        app.state.reading = runtime.reading
        app.state.token_verifier = TokenVerifier(spec.settings)
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    # In production every route but health and metrics needs a token, the API's documents included: they are
    # published with each release instead (`/docs` and `/openapi.json` serve development and tests).
    documented = spec.settings.environment != "prod"
    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if documented else None,
        generate_unique_id_function=operation_id,
        telemetry=NATIVE_OFF,
    )
    if documented:
        serve_api_documents(app, openapi_url="/openapi.json")
    app.add_middleware(BodyLimit, max_bytes=spec.settings.max_request_bytes)
    app.add_middleware(AccessLog)  # added last, so outermost: its status and duration include the limit's 413
    install_error_handlers(app)
    install_api_documentation(app)
    app.include_router(health_router)
    for router in spec.routers:
        app.include_router(router, prefix=API_PREFIX)
    install_tracing(app, spec.name)  # a span per request (not health or metrics), outermost: shared/tracing.py
    return app
