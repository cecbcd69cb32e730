"""`poverty up` refuses to start a second platform, or one whose ports another program holds."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

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
