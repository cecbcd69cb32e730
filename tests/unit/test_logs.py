"""The Kafka client's repeated lines are rate-limited (a broker outage does not flood the log); no ID number is
logged."""

from __future__ import annotations

import io
import json
import logging
import sys

from shared.logs import RATE_LIMIT_WINDOW_S, JsonFormatter, RateLimitFilter
from shared.personal_data import check_digit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def logged(records: list[logging.LogRecord], rate_limit: RateLimitFilter) -> list[dict[str, object]]:
    """The JSON lines a handler with `rate_limit` writes for `records`."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("tests"))
    handler.addFilter(rate_limit)
    for record in records:
        handler.handle(record)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def unable_to_connect(node: int) -> logging.LogRecord:
    # As aiokafka's client logs it, dozens of times a second while the brokers are away.
    return logging.LogRecord(
        "aiokafka.client", logging.ERROR, "client.py", 435, "Unable connect to node with id %s: %s",
        (node, "[Errno 111] Connect call failed"), None,
    )  # fmt: skip


def test_a_burst_of_connection_errors_makes_a_handful_of_lines_with_the_count() -> None:
    clock = Clock()
    rate_limit = RateLimitFilter(clock=clock)
    records = []
    for n in range(1000):  # 83 a second, as the reviewer measured: 12 s
        clock.now = 1000.0 + n * 0.012
        records.append(unable_to_connect(n % 3))
    lines = logged(records[:1], rate_limit) + logged(records[1:], rate_limit)
    assert len(lines) == 1 and "suppressed" not in lines[0]
    assert str(lines[0]["msg"]).startswith("Unable connect to node with id")
    clock.now += RATE_LIMIT_WINDOW_S  # the outage goes on: the next one passes, with the count of those left out
    [later] = logged([unable_to_connect(1), unable_to_connect(2)], rate_limit)
    assert later["suppressed"] == 999 and later["level"] == "error"


def test_a_long_outage_gives_one_line_per_window() -> None:
    clock = Clock()
    rate_limit = RateLimitFilter(clock=clock)
    lines = []
    for n in range(1000):  # 100 s at 10 a second
        clock.now = 1000.0 + n * 0.1
        lines += logged([unable_to_connect(1)], rate_limit)
    assert len(lines) == 4  # at 0, 30, 60 and 90 s
    assert [line.get("suppressed") for line in lines] == [None, 299, 299, 299]  # the last 99 told by the next one


def test_kinds_are_limited_apart_and_other_loggers_not_at_all() -> None:
    rate_limit = RateLimitFilter(clock=Clock())
    other_kind = logging.LogRecord("aiokafka.conn", logging.WARNING, "conn.py", 1, "Connection lost", (), None)
    ours = logging.LogRecord(
        "shared.messaging.relay", logging.WARNING, "relay.py", 1, "outbox publish failed", (), None
    )
    lines = logged([unable_to_connect(1), other_kind, unable_to_connect(1), other_kind, ours, ours, ours], rate_limit)
    assert [line["logger"] for line in lines] == ["aiokafka.client", "aiokafka.conn", *["shared.messaging.relay"] * 3]


def test_the_service_log_handler_rate_limits_aiokafka() -> None:
    from shared.logs import configure_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("tests")
        [handler] = root.handlers
        assert any(isinstance(f, RateLimitFilter) for f in handler.filters)
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
    [line] = logged([failure], RateLimitFilter())
    assert number[6:14] not in json.dumps(line, ensure_ascii=False)
    assert line["msg"] == "row [ID number] refused" and "[ID number]" in str(line["exc"])
