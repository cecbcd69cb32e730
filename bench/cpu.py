"""CPU time spent by the processes a benchmark drives, so that a figure measured on a shared, loaded machine
can be read as a cost (CPU milliseconds per item) and a ceiling (items per second on N idle cores).

Processes are read from /proc (Linux, same machine). PostgreSQL is read whole: the postmaster, the processes
it runs and those that have ended (backends of closed connections, workers); only if the server runs here,
otherwise it is left out and said to be.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine

TICKS = os.sysconf("SC_CLK_TCK")
CALIBRATION_LOOP = 2_000_000


def machine_speed(runs: int = 5) -> str:
    """How long a fixed pure-Python loop takes in CPU now (min / median / max of `runs`).

    On the shared development VM the same work costs up to four times more CPU from one second to the next,
    with no steal time reported; printed beside a benchmark's figures, it says what state the machine was in.
    """
    spent = []
    for _ in range(runs):
        started, total = time.process_time(), 0
        for i in range(CALIBRATION_LOOP):
            total += i
        spent.append(1000 * (time.process_time() - started))
    low, mid, high = min(spent), statistics.median(spent), max(spent)
    return f"a fixed loop took {low:.0f} / {mid:.0f} / {high:.0f} ms of CPU (min / median / max of {runs})"


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (field 3 on), or None if it cannot be read."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a live process, or None if it cannot be read."""
    fields = _stat(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def own_cpu_s(metered_apart: frozenset[int] = frozenset()) -> float:
    """CPU seconds of this process and of its descendants, ended or live (a fork server's workers are
    grandchildren: they end in the server's account, which ends in ours only when the server does); the live
    children in `metered_apart` (a service or a broker the benchmark started and bills by name) are left out."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    ended = me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime
    tree = _process_tree()
    live = [child for child in tree.get(os.getpid(), []) if child not in metered_apart]
    return ended + sum(tree_cpu_s(child, tree) for child in live)


def _process_tree() -> dict[int, list[int]]:
    """Live processes by parent pid."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        fields = _stat(int(entry)) if entry.isdigit() else None
        if fields is not None:
            tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def tree_cpu_s(pid: int, tree: dict[int, list[int]]) -> float:
    """CPU seconds of a live process, of its children it has reaped and of its live descendants."""
    fields = _stat(pid)
    own = 0.0 if fields is None else sum(int(f) for f in fields[11:15]) / TICKS  # utime stime cutime cstime
    return own + sum(tree_cpu_s(child, tree) for child in tree.get(pid, []))


def descendants(pid: int) -> list[int]:
    """The live descendants of `pid`."""
    tree, found = _process_tree(), []
    waiting = list(tree.get(pid, []))
    while waiting:
        child = waiting.pop()
        found.append(child)
        waiting.extend(tree.get(child, []))
    return found


def peak_rss_mb(pid: int) -> float:
    """The peak resident set (VmHWM) of a live process, MB; 0 if it cannot be read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")), 0.0)


async def server_cpu_s(engine: AsyncEngine) -> float | None:
    """CPU seconds the PostgreSQL server behind `engine` has spent so far, all its processes included, those that
    ended too (backends of closed connections, workers) (None: it does not run on this machine)."""
    async with engine.connect() as conn:
        backend = int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)
    mine = _stat(backend)
    if mine is None:
        return None
    return tree_cpu_s(int(mine[1]), _process_tree())  # the postmaster is the backend's parent


@dataclass
class CpuMeter:
    """Reads the CPU seconds of this process (and its ended children), of other processes by name, and of the
    PostgreSQL server behind a database."""

    processes: dict[str, int | None]
    database_url: str | None = None
    own: str = "benchmark process"  # what this process is called in the bill

    async def read(self) -> dict[str, float | None]:
        apart = frozenset(pid for pid in self.processes.values() if pid)
        found: dict[str, float | None] = {self.own: own_cpu_s(apart)}
        found |= {name: process_cpu_s(pid) if pid else None for name, pid in self.processes.items()}
        if self.database_url:
            engine = create_engine(self.database_url)
            try:
                found["PostgreSQL server"] = await server_cpu_s(engine)
            finally:
                await engine.dispose()
        return found


@dataclass
class CpuBill:
    """CPU seconds by who spent them, for `items` items."""

    items: int
    seconds: dict[str, float | None] = field(default_factory=dict)

    @classmethod
    def between(cls, before: dict[str, float | None], after: dict[str, float | None], items: int) -> CpuBill:
        spent = {who: _delta(before.get(who), seconds) for who, seconds in after.items()}
        return cls(items, spent)

    def lines(self, unit: str, *, load_generator: str | None = None) -> list[str]:
        """The bill per item, and the CPU-bound ceiling of what is measured (the load generator left out)."""
        cores = os.cpu_count() or 1
        known = {who: s for who, s in self.seconds.items() if s is not None}
        parts = [f"{who} {1000 * s / self.items:.3f} ms" for who, s in known.items()]
        system_ms = 1000 * sum(s for who, s in known.items() if who != load_generator) / self.items
        out = [f"CPU per {unit}: " + ", ".join(parts)]
        missing = [who for who, s in self.seconds.items() if s is None]
        if missing:
            out.append("  not counted (not readable on this machine): " + ", ".join(missing))
        measured = f"without the {load_generator}" if load_generator else "in all"
        out.append(f"  {measured}: {system_ms:.3f} ms -> CPU-bound ceiling on {cores} idle cores ")
        out[-1] += f"{cores * 1000 / system_ms:,.0f} {unit}s/s"
        return out


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before
