"""An outage's repeated warnings are held back (one line per kind and state change, a summary while it lasts), a line
about one record never for another's; no ID number is logged."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from shared.logs import QUIET_AFTER_S, SUMMARY_EVERY_S, JsonFormatter, RepeatFilter
from shared.personal_data import check_digit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Written:
    """What a service's handler with `repeats` writes: the records it is handed and the filter's own summaries."""

    def __init__(self, repeats: RepeatFilter) -> None:
        self.repeats, self.out = repeats, io.StringIO()
        self.handler = logging.StreamHandler(self.out)
        self.handler.setFormatter(JsonFormatter("tests"))
        self.handler.addFilter(repeats)

    def handle(self, *records: logging.LogRecord) -> None:
        for record in records:
            self.handler.handle(record)

    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.out.getvalue().splitlines()]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def written(clock: Clock) -> Iterator[Written]:
    """The filter's summaries go to `shared.logs`'s logger: routed to the same handler, as in a service."""
    result = Written(RepeatFilter(clock=clock))
    own = logging.getLogger("shared.logs")
    saved = own.handlers[:], own.propagate, own.level
    own.handlers[:], own.propagate = [result.handler], False
    own.setLevel(logging.INFO)
    try:
        yield result
    finally:
        own.handlers[:], own.propagate, level = saved
        own.setLevel(level)


def unable_to_connect(node: int) -> logging.LogRecord:
    # As aiokafka's client logs it, dozens of times a second while the brokers are away.
    return logging.LogRecord(
        "aiokafka.client", logging.ERROR, "client.py", 435, "Unable connect to node with id %s: %s",
        (node, "[Errno 111] Connect call failed"), None,
    )  # fmt: skip


def relay_retry() -> logging.LogRecord:
    return logging.LogRecord(
        "shared.messaging.relay", logging.WARNING, "relay.py", 1, "outbox publish failed", (), None
    )


def kafka_state(reachable: bool) -> logging.LogRecord:
    level, msg = (logging.INFO, "kafka reachable") if reachable else (logging.WARNING, "kafka unreachable")
    return logging.LogRecord("shared.health", level, "health.py", 1, msg, (), None)


def outage(written: Written, clock: Clock, seconds: float, per_second: int = 80) -> None:
    """The lines of an outage of `seconds`: aiokafka's connection errors, the relay's retries every 5 s."""
    start = clock.now
    written.handle(kafka_state(reachable=False))
    for n in range(int(seconds * per_second)):
        clock.now = start + n / per_second
        written.handle(unable_to_connect(n % 3))
        if n % (5 * per_second) == 0:
            written.handle(relay_retry())


def test_a_45_second_outage_writes_its_start_a_summary_and_its_end(written: Written, clock: Clock) -> None:
    outage(written, clock, 45)  # 3,600 lines from aiokafka, 9 from the relay
    clock.now += 2
    written.handle(kafka_state(reachable=True))
    clock.now += QUIET_AFTER_S
    written.repeats.tick()
    lines = written.lines()
    assert [line["msg"] for line in lines[:3]] == [
        "kafka unreachable",
        "Unable connect to node with id 0: [Errno 111] Connect call failed",
        "outbox publish failed",
    ]
    summary, back, end = lines[3:]
    assert summary["level"] == "warning" and str(summary["msg"]).startswith("failures go on (30 s)")
    assert summary["suppressed_by_kind"] == {
        "aiokafka.client: Unable connect to node with id %s: %s": 30 * 80 - 1,
        "shared.messaging.relay: outbox publish failed": 5,
    }
    assert back["msg"] == "kafka reachable"
    assert end["level"] == "info" and end["suppressed"] == 45 * 80 - 1 + 8 and end["duration_s"] == 45
    assert end["msg"] == f"failures stopped after 45 s: {45 * 80 - 1 + 8:,} similar lines left out"
    assert end["suppressed_by_kind"] == {
        "aiokafka.client: Unable connect to node with id %s: %s": 45 * 80 - 1,
        "shared.messaging.relay: outbox publish failed": 8,
    }


def test_a_long_outage_gives_a_summary_every_period(written: Written, clock: Clock) -> None:
    outage(written, clock, 100, per_second=10)
    summaries = [line for line in written.lines() if str(line["msg"]).startswith("failures go on")]
    assert [line["duration_s"] for line in summaries] == [30, 60, 90]
    assert [line["suppressed"] for line in summaries] == [299 + 5, 300 + 6, 300 + 6]


def test_the_end_is_written_by_the_tick_when_nothing_else_is_logged(written: Written, clock: Clock) -> None:
    repeats = written.repeats
    written.handle(unable_to_connect(1), unable_to_connect(1))
    clock.now += QUIET_AFTER_S - 1
    repeats.tick()
    assert len(written.lines()) == 1  # still within the outage
    clock.now += 1
    repeats.tick()
    repeats.tick()
    [_, end] = written.lines()
    assert end["suppressed"] == 1 and end["duration_s"] == 0


def test_a_new_outage_starts_over(written: Written, clock: Clock) -> None:
    written.handle(unable_to_connect(1), unable_to_connect(1))
    clock.now += QUIET_AFTER_S
    written.handle(unable_to_connect(1), unable_to_connect(1))
    assert [line["msg"] for line in written.lines()][1:] == [
        "failures stopped after 0 s: 1 similar lines left out",
        "Unable connect to node with id 1: [Errno 111] Connect call failed",
    ]


def test_a_lone_warning_passes_and_ends_without_a_line(written: Written, clock: Clock) -> None:
    written.handle(relay_retry())
    clock.now += SUMMARY_EVERY_S + QUIET_AFTER_S
    written.handle(relay_retry())
    assert [line["msg"] for line in written.lines()] == ["outbox publish failed"] * 2


def test_other_loggers_and_lower_levels_are_never_held_back(written: Written, clock: Clock) -> None:
    other = logging.LogRecord("services.audit.api", logging.ERROR, "a.py", 1, "unhandled error", (), None)
    info = logging.LogRecord("shared.messaging.retention", logging.INFO, "r.py", 1, "messaging tables purged", (), None)
    written.handle(*[unable_to_connect(1), other, info] * 3)
    assert [line["logger"] for line in written.lines()] == [
        "aiokafka.client",
        *["services.audit.api", "shared.messaging.retention"] * 3,
    ]


def test_a_summary_names_the_most_frequent_kinds_and_counts_the_rest(written: Written, clock: Clock) -> None:
    for n in range(12):
        for _ in range(n + 2):
            written.handle(logging.LogRecord("aiokafka.conn", logging.WARNING, "c.py", 1, f"kind {n}", (), None))
    clock.now += QUIET_AFTER_S
    written.handle(unable_to_connect(1))
    end = next(line for line in written.lines() if str(line["msg"]).startswith("failures stopped"))
    by_kind = end["suppressed_by_kind"]
    assert isinstance(by_kind, dict) and len(by_kind) == 11  # held back: 1 of kind 0 (its first passed), n + 2 of n
    assert by_kind["aiokafka.conn: kind 11"] == 13 and by_kind["other kinds"] == 1 + 3


def test_each_kind_tells_its_first_line_the_kafka_clients_by_module(written: Written, clock: Clock) -> None:
    """The Kafka client says the same thing a dozen ways (connect, metadata, fetch, heartbeat...): one line a module;
    a noisy kind of ours hides no other kind of the same logger."""
    coordinator = logging.LogRecord(
        "aiokafka.consumer.group_coordinator", logging.ERROR, "g.py", 1, "Heartbeat session expired", (), None
    )
    coordinator_again = logging.LogRecord(
        "aiokafka.consumer.group_coordinator", logging.ERROR, "g.py", 2, "Group Coordinator Request failed", (), None
    )
    lost = logging.LogRecord("shared.messaging.relay", logging.WARNING, "r.py", 1, "lost its database", (), None)
    written.handle(unable_to_connect(1), coordinator, relay_retry(), coordinator_again, relay_retry(), lost, lost)
    assert [(line["logger"], line["msg"]) for line in written.lines()] == [
        ("aiokafka.client", "Unable connect to node with id 1: [Errno 111] Connect call failed"),
        ("aiokafka.consumer.group_coordinator", "Heartbeat session expired"),
        ("shared.messaging.relay", "outbox publish failed"),
        ("shared.messaging.relay", "lost its database"),
    ]


def about(name: str, level: int, msg: str, **facts: object) -> logging.LogRecord:
    record = logging.LogRecord(name, level, "m.py", 1, msg, (), None)
    record.__dict__.update(facts)
    return record


def test_a_line_about_a_record_is_never_held_back_by_a_line_about_another(written: Written, clock: Clock) -> None:
    """No outage: a handler bug retried, then dead-lettered; two poison records; an unreadable record. Every dead
    letter and quarantine is told; only the same event's retries repeat."""
    where = {"topic": "audit.events", "partition": 0}
    retry = [about("shared.messaging.applying", logging.WARNING, "event handling failed; retrying", event_id="e1")]
    dead = [
        about("shared.messaging.dead_letters", logging.ERROR, "event dead-lettered", **where, offset=n)
        for n in (1, 2, 3)
    ]
    fetch = about("shared.messaging.fetching", logging.ERROR, "a fetch could not be read")
    kept = about("shared.messaging.fetching", logging.ERROR, "records quarantined", **where, first_offset=4)
    stalled = about("shared.messaging.partitions", logging.ERROR, "partition stalled", **where, offset=5)
    written.handle(*retry * 4, *dead, fetch, kept, fetch, stalled, stalled)
    clock.now += QUIET_AFTER_S
    written.repeats.tick()
    lines = written.lines()
    assert [line["msg"] for line in lines if line["msg"] == "event dead-lettered"] == ["event dead-lettered"] * 3
    assert [line["first_offset"] for line in lines if line["msg"] == "records quarantined"] == [4]
    assert [line["msg"] for line in lines].count("event handling failed; retrying") == 1
    assert [line["msg"] for line in lines].count("partition stalled") == 1  # the same record again: a repeat
    assert lines[-1]["suppressed_by_kind"] == {
        "shared.messaging.applying: event handling failed; retrying": 3,
        "shared.messaging.fetching: a fetch could not be read": 1,
        "shared.messaging.partitions: partition stalled": 1,
    }


def test_the_service_log_handler_holds_back_repeats() -> None:
    from shared.logs import configure_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("tests")
        [handler] = root.handlers
        assert any(isinstance(f, RepeatFilter) for f in handler.filters)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_an_id_number_in_a_message_or_an_exception_is_redacted_however_typed() -> None:
    number = "37152319791224" + "6096"[:3]
    number += check_digit(number)
    try:
        raise ValueError(f"bad row: {number[:6]}/{number[6:14]}/{number[14:]}")
    except ValueError:
        failure = logging.LogRecord("x", logging.ERROR, "f.py", 1, "row %s refused", (number,), sys.exc_info())
    written = Written(RepeatFilter())
    written.handle(failure)
    [line] = written.lines()
    assert number[6:14] not in json.dumps(line, ensure_ascii=False)
    assert line["msg"] == "row [ID number] refused" and "[ID number]" in str(line["exc"])
