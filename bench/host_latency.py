"""Benchmark: the latency floor of this machine, with none of the platform's code.

Every event in the platform crosses several processes (producer, broker, consumer, PostgreSQL, relay, broker,
reader), and each crossing wakes a process that was waiting. This measures what one wake-up costs here:

- a timer: how late `time.sleep(gap)` returns (what every poll, linger and backoff pays);
- a loopback round trip between two processes, after the pair sat idle for `gap` (a request to a waiting
  server, as when an event reaches an idle consumer), and back to back (the same with both processes awake).

It prints p50 / p90 / p99 / max of each. An end-to-end p99 cannot be lower than what a handful of these add up to.

    .venv/bin/python bench/host_latency.py [--samples 300] [--gap-ms 20]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time
from collections.abc import Callable


def distribution(name: str, samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return f"{name:<44} p50 {q[49]:7.2f}  p90 {q[89]:7.2f}  p99 {q[98]:7.2f}  max {ordered[-1]:7.2f} ms"


def timer_lateness(samples: int, gap_s: float) -> list[float]:
    late = []
    for _ in range(samples):
        started = time.perf_counter()
        time.sleep(gap_s)
        late.append((time.perf_counter() - started - gap_s) * 1000)
    return late


def round_trips(samples: int, pause: Callable[[], None]) -> list[float]:
    """One byte to an echoing child process and back, `samples` times, calling `pause` before each."""
    ours, theirs = socket.socketpair()
    child = os.fork()
    if child == 0:  # the echo server: blocks in recv between requests, like a waiting consumer
        ours.close()
        while data := theirs.recv(16):
            theirs.send(data)
        os._exit(0)
    theirs.close()
    try:
        spent = []
        for _ in range(samples):
            pause()
            started = time.perf_counter()
            ours.send(b"x")
            ours.recv(16)
            spent.append((time.perf_counter() - started) * 1000)
        return spent
    finally:
        ours.close()
        os.waitpid(child, 0)


def main(args: argparse.Namespace) -> None:
    gap_s = args.gap_ms / 1000
    print(f"{args.samples} samples each; idle gap {args.gap_ms:g} ms")
    print(distribution(f"sleep({args.gap_ms:g} ms): how late it returns", timer_lateness(args.samples, gap_s)))
    after_gap = round_trips(args.samples, lambda: time.sleep(gap_s))
    print(distribution("round trip to a process idle for the gap", after_gap))
    print(distribution("round trip, back to back", round_trips(args.samples, lambda: None)))


def at_least(low: float, kind: type[int] | type[float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low:g}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the expected type after the function: "invalid int value"
    return parse


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=at_least(2, int), default=300, help="samples per measure (at least 2)")
    parser.add_argument("--gap-ms", type=at_least(0, float), default=20.0, help="idle gap before each sample")
    main(parser.parse_args())
