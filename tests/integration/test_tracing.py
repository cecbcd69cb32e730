"""One trace from a household visit to the discipline commission and back, across Kafka: households and audit run in
this process on real PostgreSQL and a real broker, their spans caught by an in-memory exporter."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from shared.contracts import AUDIT_TOPIC, HOUSEHOLDS_TOPIC
from shared.contracts.audit import DisciplineReferralMade
from shared.contracts.households import HouseholdProblemFound
from shared.logs import JsonFormatter
from tests.kafka_support import eventually
from tests.support import auth, running_app
from tests.tracing_support import captured_spans, hex_ids

pytestmark = pytest.mark.integration

VILLAGE = "371523101201"
REFERRALS_LOGGER = "services.audit.domain.referrals"


class JsonLines(logging.Handler):
    """The log lines of some loggers, rendered as the services render them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter("audit"))
        self.entries: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.entries.append(json.loads(self.format(record)))


@pytest.fixture
def referral_log() -> Iterator[JsonLines]:
    # On the logger itself: an app's start-up replaces the root logger's handlers.
    lines, logger = JsonLines(), logging.getLogger(REFERRALS_LOGGER)
    logger.addHandler(lines)
    try:
        yield lines
    finally:
        logger.removeHandler(lines)


def consumed(spans: tuple[ReadableSpan, ...], group: str, event_type: str) -> list[ReadableSpan]:
    return [
        s
        for s in spans
        if s.kind is SpanKind.CONSUMER
        and (s.attributes or {}).get("messaging.consumer.group.name") == group
        and (s.attributes or {}).get("cloudevents.event_type") == event_type
    ]


async def test_one_trace_runs_from_a_visit_through_audit_s_referral_and_back(
    kafka: str, pg_database: Any, referral_log: JsonLines, capsys: pytest.CaptureFixture[str]
) -> None:
    households_url, audit_url = await pg_database("households"), await pg_database("audit")
    options = {"kafka_enabled": True, "kafka_bootstrap_servers": kafka, "metrics_port": 0}
    with captured_spans() as exporter:  # before the apps start: their engines are traced too
        async with AsyncExitStack() as apps:
            households_app, households = await apps.enter_async_context(
                running_app("households", households_url, **options)
            )
            audit_app, _ = await apps.enter_async_context(running_app("audit", audit_url, **options))
            for app in (households_app, audit_app):
                await eventually(lambda app=app: app.state.runtime.kafka_started, timeout=60)

            office, cadre = auth("district_office"), auth("helper_cadre", area=VILLAGE)
            member = {"name": "张三", "relationship_to_head": "head", "birth_date": "1958-02-01"}
            body = {"household_code": f"TR-{uuid.uuid4().hex[:6]}", "area_code": VILLAGE, "head_name": "张三"}
            registered = await households.post("/v1/households", json={**body, "members": [member]}, headers=office)
            assert registered.status_code == 201, registered.text
            household = registered.json()["id"]
            started = time.monotonic()
            visit = {"round": 2, "visited_on": "2020-05-10", "visitor": "王五", "housing_grade": "D"}
            answered = await households.post(f"/v1/households/{household}/visits", json=visit, headers=cadre)
            assert answered.status_code == 201, answered.text

            [request] = [
                s
                for s in exporter.get_finished_spans()
                if s.kind is SpanKind.SERVER and s.name == "POST /v1/households/{household_id}/visits"
            ]
            trace_id = hex_ids(request)[0]

            def in_trace(spans: list[ReadableSpan]) -> list[ReadableSpan]:
                return [s for s in spans if hex_ids(s)[0] == trace_id]

            def back_in_households() -> list[ReadableSpan]:
                spans = exporter.get_finished_spans()
                return in_trace(consumed(spans, "households", DisciplineReferralMade.event_type))

            await eventually(back_in_households, timeout=60)
            elapsed = time.monotonic() - started

    spans = exporter.get_finished_spans()
    # Households published the visit's problem in the request's trace ...
    [published] = [
        s
        for s in in_trace(list(spans))
        if s.kind is SpanKind.PRODUCER
        and s.name == f"send {HOUSEHOLDS_TOPIC}"
        and (s.attributes or {})["cloudevents.event_type"] == HouseholdProblemFound.event_type
    ]
    assert published.parent is not None and published.parent.trace_id == request.context.trace_id
    # ... audit's consumer span continues it (its parent is the publication) ...
    # (A batch that failed is applied again one event at a time: each attempt has its span, all in the trace.)
    audit_consumers = in_trace(consumed(spans, "audit", HouseholdProblemFound.event_type))
    assert audit_consumers
    for audit_consumer in audit_consumers:
        assert audit_consumer.parent is not None and audit_consumer.parent.span_id == published.context.span_id
        assert (audit_consumer.attributes or {})["messaging.kafka.message.key"] == household
    # ... the line audit logs when it refers the finding carries the trace, the referral event goes on in it ...
    # (Other tests' events on the session's broker may be consumed too, each in its own trace.)
    referrals = [e for e in referral_log.entries if e["msg"] == "referral opened" and e["trace_id"] == trace_id]
    assert referrals
    referred = referrals[-1]
    assert referred["span_id"] in {hex_ids(span)[1] for span in audit_consumers}
    assert {"finding_id", "referral_id", "reason"} <= referred.keys() and "request_id" not in referred
    referral_sent = [s for s in in_trace(list(spans)) if s.name == f"send {AUDIT_TOPIC}"]
    assert DisciplineReferralMade.event_type in {(s.attributes or {})["cloudevents.event_type"] for s in referral_sent}
    # ... and back in households, which keeps the open finding: the database statements are in the trace too.
    statements = [s for s in in_trace(list(spans)) if s.kind is SpanKind.CLIENT]
    assert statements and all(s.parent is not None for s in statements)
    with capsys.disabled():
        print(f"\nmeasured: visit -> households' open finding, one trace of {len(in_trace(list(spans)))} spans, "
              f"{elapsed * 1000:.0f} ms")  # fmt: skip
