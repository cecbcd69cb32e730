"""Running services as separate OS processes on loopback (the local platform and end-to-end tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

STOP_TIMEOUT_S = 15.0


def service_env(service: str, *, database_url: str, kafka: str, port: int, **extra: str) -> dict[str, str]:
    """The environment a service process reads its settings from (prefix = service name)."""
    prefix = f"{service.upper()}_"
    env = {"DATABASE_URL": database_url, "KAFKA_BOOTSTRAP_SERVERS": kafka, "PORT": str(port), "HOST": "127.0.0.1"}
    env.update({k.upper(): v for k, v in extra.items()})
    return {prefix + k: v for k, v in env.items()}


@dataclass
class ServiceProcess:
    """One service (`poverty serve <name>`) in its own process, logging to a file."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    metrics_port: int = 0  # where its /metrics is served; 0 when not (the process's METRICS_PORT is in `env`)
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def pid(self) -> int | None:
        """The service's process id once started."""
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "shared.cli", "serve", self.name],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until `/readyz` says ready and Kafka, unless disabled, connected (readiness itself does not wait for
        Kafka); raise with the log tail if it never is."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start-up:\n{self.log_tail()}")
            try:
                ready = httpx.get(f"{self.base_url}/readyz", timeout=2)
                if ready.status_code == 200 and ready.json()["checks"]["kafka"] != "degraded":
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready within {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Graceful stop (SIGTERM), then SIGKILL if it hangs."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Die at once, as a crash would (SIGKILL)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
