"""`poverty up` refuses to start a second platform, or one whose ports another program holds."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from shared.local import platform


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(platform, "STATE", tmp_path)
    return tmp_path


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_listening_port_is_in_use_and_a_free_one_is_not(listening: int) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = int(probe.getsockname()[1])
    assert platform.ports_in_use({"households": listening, "audit": free}) == {"households": listening}


def test_only_one_holder_of_the_platform_lock_at_a_time(tmp_path: Path) -> None:
    lock = tmp_path / "up.lock"
    with platform.sole_platform(lock) as first, platform.sole_platform(lock) as second:
        assert (first, second) == (True, False)
    with platform.sole_platform(lock) as after:
        assert after


def test_up_refuses_while_another_up_runs_and_starts_nothing(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (state / "data").mkdir()
    with platform.sole_platform(state / "up.lock"):
        assert platform.up(demo_data=False) == 2
    assert "already running" in capsys.readouterr().err
    assert not (state / "kafka-data").exists()


def test_up_refuses_when_a_service_port_is_taken_and_names_it(
    state: Path, listening: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOUSEHOLDS_PORT", str(listening))
    assert platform.up(demo_data=False) == 2
    assert f"{listening} (households)" in capsys.readouterr().err
    assert not (state / "kafka-data").exists()


class Recorded:
    """Stands in for the broker and the service processes: records what was started and stopped."""

    log: ClassVar[list[str]] = []

    def __init__(self, name: str, *_: object, **__: object) -> None:
        self.name, self.bootstrap_servers, self.base_url = name, "127.0.0.1:9092", "http://x"

    def __enter__(self) -> Recorded:
        self.log.append("kafka started")
        return self

    def __exit__(self, *_: object) -> None:
        self.log.append("kafka stopped")

    def start(self) -> None:
        self.log.append(f"{self.name} started")
        if self.name == "subsidies":  # the operator stops the platform while it starts
            os.kill(os.getpid(), signal.SIGTERM)

    def stop(self) -> None:
        self.log.append(f"{self.name} stopped")
        os.kill(os.getpid(), signal.SIGTERM)  # and again, impatient: the rest must still be stopped


def unhandled(*_: object) -> None:
    raise RuntimeError("SIGTERM reached the platform before it handled it: whatever was started keeps running")


def test_a_stop_during_start_up_stops_whatever_was_started(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Recorded.log = []
    monkeypatch.setattr(platform, "LocalKafka", lambda **_: Recorded("kafka"))
    monkeypatch.setattr(platform, "_service", lambda name, _: Recorded(name))
    monkeypatch.setattr(platform, "_migrate", lambda _: asyncio.sleep(0))
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, unhandled)  # what the signal does unless the platform takes it over
    try:
        platform._run(demo_data=False)  # returns: the stop is not an error
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    started = [entry.removesuffix(" started") for entry in Recorded.log if entry.endswith(" started")]
    stopped = [entry.removesuffix(" stopped") for entry in Recorded.log if entry.endswith(" stopped")]
    assert started == ["kafka", "households", "projects", "subsidies"]
    assert sorted(stopped) == sorted(["kafka", *platform.SERVICES])  # every process object's stop is called
    assert Recorded.log[-1] == "kafka stopped"


def test_up_names_the_virtualenvs_poverty_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make up` runs in the project's virtualenv, whose `poverty` is not on PATH until it is activated."""
    monkeypatch.setattr(platform.sys, "executable", str(tmp_path / ".venv" / "bin" / "python"))
    monkeypatch.chdir(tmp_path)
    assert platform._poverty_command() == os.path.join(".venv", "bin", "poverty")
    monkeypatch.chdir(tmp_path.parent)
    assert platform._poverty_command() == os.path.join(tmp_path.name, ".venv", "bin", "poverty")
