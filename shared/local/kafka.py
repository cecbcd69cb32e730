"""A real single-node Apache Kafka broker (KRaft) assembled from Maven Central jars, for dev and tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Self

from aiokafka.admin import AIOKafkaAdminClient

from shared.local.tls import write_server_tls

KAFKA_VERSION = "3.9.1"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = PROJECT_ROOT / "deploy" / "local" / "kafka"
POM = DEPLOY_DIR / "pom.xml"
LOG4J_CONFIG = DEPLOY_DIR / "log4j.properties"
DEFAULT_CACHE_DIR = PROJECT_ROOT / ".local" / f"kafka-{KAFKA_VERSION}" / "libs"
DEFAULT_DATA_DIR = PROJECT_ROOT / ".local" / "kafka-data"
MARKER = ".fetched"
START_BANNER = "=== starting Kafka"  # written to broker.log before each launch
LOG_TAIL_LINES = 40
STOP_TIMEOUT = 15.0
# Heap per the recipe: plenty for a test broker, small beside the four services and their databases.
# C1-only JIT and the serial GC spend far less CPU while the JVM warms up; on a busy 2-core machine
# that cut start-to-ready by roughly a quarter, and a test broker never needs C2's peak speed.
JVM_OPTIONS = ("-Xms256m", "-Xmx512m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fetch_stamp() -> str:
    """Identify what a cached jar folder was fetched from (version and pom content)."""
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    return f"kafka {KAFKA_VERSION} pom-sha256 {digest}\n"


def _is_fetched(libs: Path, stamp: str) -> bool:
    """Tell whether libs holds a complete fetch made from the current pom."""
    marker = libs / MARKER
    return marker.is_file() and marker.read_text() == stamp


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock so parallel test workers do not download into one folder at once."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_maven(libs: Path) -> None:
    """Copy the pom's runtime dependencies into libs with Maven."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("mvn not found on PATH: Maven is needed once to fetch the Kafka jars")
    cmd = [
        mvn, "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
        "-DincludeScope=runtime", f"-DoutputDirectory={libs}",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 - fixed command
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-LOG_TAIL_LINES:])
        raise RuntimeError(f"fetching Kafka jars failed (exit {done.returncode}):\n{tail}")


def ensure_jars(cache_dir: Path | None = None) -> Path:
    """Fetch the broker jars with Maven unless already cached; return the folder holding them."""
    libs = (cache_dir or DEFAULT_CACHE_DIR).resolve()
    stamp = _fetch_stamp()
    if _is_fetched(libs, stamp):
        return libs
    libs.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(libs.parent / f".{libs.name}.lock"):
        if _is_fetched(libs, stamp):  # another process finished it while we waited for the lock
            return libs
        # No marker means a half-finished download or one from another pom: start clean.
        shutil.rmtree(libs, ignore_errors=True)
        _run_maven(libs)
        (libs / MARKER).write_text(stamp)  # written last, so only a complete fetch counts
    return libs


def _java() -> str:
    """Return the java executable, preferring JAVA_HOME."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise RuntimeError("java not found (set JAVA_HOME or put java on PATH); Kafka needs Java 17")
    return found


def _new_cluster_id() -> str:
    """Make a Kafka cluster id in Python, sparing a JVM start for `StorageTool random-uuid`."""
    while True:
        # Same shape as org.apache.kafka.common.Uuid: 16 random bytes, unpadded url-safe base64.
        cid = base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()
        if not cid.startswith("-"):  # Kafka avoids these too: a leading dash reads as a CLI flag
            return cid


@dataclass
class LocalKafka:
    """One Kafka JVM (broker + KRaft controller) on loopback whose data lives in data_dir."""

    data_dir: Path
    port: int = 0  # 0 picks a free loopback port
    controller_port: int = 0  # 0 picks a free loopback port
    libs_dir: Path | None = None  # None uses ensure_jars()'s default cache
    # Default wait for readiness. Quiet machine: ~10-15 s; a 2-core machine busy with other suites: up to ~75 s.
    ready_timeout: float = 120.0
    # Users (name -> password) of a second listener that requires SASL/PLAIN, for testing clients' security.
    sasl_users: dict[str, str] = field(default_factory=dict)
    sasl_port: int = 0  # 0 picks a free loopback port (used only with sasl_users)
    # A third listener for the same users over TLS (SASL_SSL), the shape production uses; its CA is tls_cafile.
    tls: bool = False
    tls_port: int = 0  # 0 picks a free loopback port (used only with tls)
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        """Resolve the data dir and pick distinct free ports where none were given."""
        self.data_dir = Path(self.data_dir).resolve()
        if not self.port:
            self.port = free_port()
        while not self.controller_port or self.controller_port == self.port:
            self.controller_port = free_port()
        while self.sasl_users and (not self.sasl_port or self.sasl_port in (self.port, self.controller_port)):
            self.sasl_port = free_port()
        if self.tls and not self.sasl_users:
            raise ValueError("tls serves the sasl_users over SASL_SSL: give at least one user")
        while self.tls and (not self.tls_port or self.tls_port in (self.port, self.controller_port, self.sasl_port)):
            self.tls_port = free_port()

    @property
    def bootstrap_servers(self) -> str:
        """Return the address clients connect to."""
        return f"127.0.0.1:{self.port}"

    @property
    def sasl_bootstrap_servers(self) -> str:
        """Return the address of the SASL/PLAIN listener (only with sasl_users)."""
        return f"127.0.0.1:{self.sasl_port}"

    @property
    def tls_bootstrap_servers(self) -> str:
        """Return the address of the SASL_SSL listener (only with tls)."""
        return f"127.0.0.1:{self.tls_port}"

    @property
    def tls_cafile(self) -> Path:
        """Return the PEM certificate of the CA that signed the TLS listener's certificate."""
        return self.data_dir / "tls" / "ca.pem"

    @property
    def tls_keystore(self) -> Path:
        """Return the PEM file holding the TLS listener's key and certificate."""
        return self.data_dir / "tls" / "server.pem"

    @property
    def log_path(self) -> Path:
        """Return the file that receives the broker's console output."""
        return self.data_dir / "broker.log"

    @property
    def log_dir(self) -> Path:
        """Return Kafka's log.dirs (topic data and KRaft metadata) inside data_dir."""
        return self.data_dir / "kraft"

    @property
    def properties_path(self) -> Path:
        """Return the server.properties the broker is started with."""
        return self.data_dir / "server.properties"

    @property
    def pid(self) -> int | None:
        """Return the java process id while it runs."""
        return self._proc.pid if self.is_running and self._proc else None

    @property
    def is_running(self) -> bool:
        """Tell whether the java process started by this object is still alive."""
        return self._proc is not None and self._proc.poll() is None

    def server_properties(self) -> str:
        """Render server.properties for a single KRaft node on loopback."""
        ctl = f"127.0.0.1:{self.controller_port}"
        listeners = f"PLAINTEXT://{self.bootstrap_servers}"
        if self.sasl_users:
            listeners += f",SASL_PLAINTEXT://{self.sasl_bootstrap_servers}"
        protocols = "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT"
        if self.tls:
            listeners += f",SASL_SSL://{self.tls_bootstrap_servers}"
            protocols += ",SASL_SSL:SASL_SSL"
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@{ctl}",
                f"listeners={listeners},CONTROLLER://{ctl}",
                f"advertised.listeners={listeners}",
                "inter.broker.listener.name=PLAINTEXT",
                "controller.listener.names=CONTROLLER",
                f"listener.security.protocol.map={protocols}",
                *self._sasl_properties(),
                *self._tls_properties(),
                f"log.dirs={self.log_dir}",
                "num.partitions=3",
                # One replica and one partition for internal topics: a single node, and a faster start.
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=1",
                "group.initial.rebalance.delay.ms=0",
                # Few threads: every idle thread wakes on a timer, and on small virtual machines those
                # wake-ups alone kept an idle broker near 60 % of a core with the defaults.
                "num.network.threads=1",
                "num.io.threads=2",
                "background.threads=2",
                # The platform creates its topics explicitly; auto-creation would hide a missing admin step.
                "auto.create.topics.enable=false",
                "",
            ]
        )

    def _sasl_properties(self) -> list[str]:
        if not self.sasl_users:
            return []
        users = " ".join(f'user_{name}="{password}"' for name, password in self.sasl_users.items())
        jaas = f"org.apache.kafka.common.security.plain.PlainLoginModule required {users};"
        listeners = ["sasl_plaintext", "sasl_ssl"] if self.tls else ["sasl_plaintext"]
        return [
            "sasl.enabled.mechanisms=PLAIN",
            *(f"listener.name.{listener}.plain.sasl.jaas.config={jaas}" for listener in listeners),
        ]

    def _tls_properties(self) -> list[str]:
        # No truststore: clients prove who they are with SASL, not with certificates (ssl.client.auth=none).
        return ["ssl.keystore.type=PEM", f"ssl.keystore.location={self.tls_keystore}"] if self.tls else []

    def is_formatted(self) -> bool:
        """Tell whether the storage was formatted already (then its data must be kept)."""
        return (self.log_dir / "meta.properties").is_file()

    def _jvm_command(self, libs: Path, main_class: str, *args: str) -> list[str]:
        """Build a java command line over the cached jars with our log4j config."""
        return [
            _java(), *JVM_OPTIONS,
            f"-Dlog4j.configuration=file:{LOG4J_CONFIG}", f"-Dkafka.logs.dir={self.data_dir}",
            "-cp", f"{libs}/*", main_class, *args,
        ]  # fmt: skip

    def _format_storage(self, libs: Path) -> None:
        """Format log.dirs with a fresh cluster id (KRaft refuses to start on unformatted storage)."""
        args = ("format", "-t", _new_cluster_id(), "-c", str(self.properties_path))
        cmd = self._jvm_command(libs, "kafka.tools.StorageTool", *args)
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=self.data_dir)  # noqa: S603
        if done.returncode != 0:
            raise RuntimeError(f"formatting Kafka storage failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")

    def start(self) -> None:
        """Write the config, format storage if new, and launch the broker in its own process group."""
        if self.is_running:
            return
        libs = ensure_jars(self.libs_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.properties_path.write_text(self.server_properties())
        if self.tls and not self.tls_cafile.is_file():  # kept across restarts, as clients keep trusting it
            write_server_tls(self.tls_cafile, self.tls_keystore)
        if not self.is_formatted():
            self._format_storage(libs)
        cmd = self._jvm_command(libs, "kafka.Kafka", str(self.properties_path))
        with self.log_path.open("ab") as log:
            log.write(f"\n{START_BANNER} {KAFKA_VERSION} at {time.strftime('%F %T')} ===\n".encode())
            log.flush()
            # Own session: Ctrl-C in a terminal reaches only us, and stop() shuts the broker down cleanly.
            self._proc = subprocess.Popen(  # noqa: S603 - fixed command over our own paths
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.data_dir, start_new_session=True,
            )  # fmt: skip

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """Return the last lines of broker.log."""
        if not self.log_path.is_file():
            return "(no broker.log)\n"
        with self.log_path.open(encoding="utf-8", errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines))

    def logged_errors(self, limit: int = 12) -> list[str]:
        """Return the ERROR/FATAL and 'Caused by' lines the current run wrote to broker.log."""
        if not self.log_path.is_file():
            return []
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        run = text.rsplit(START_BANNER, 1)[-1]  # only this start, not earlier runs in the same file
        found: dict[str, None] = {}  # ordered set: a failing start repeats its causes several times
        for line in run.splitlines():
            if "] ERROR " in line or "] FATAL " in line or line.startswith("Caused by:"):
                found[line.strip()] = None
        return list(found)[-limit:]

    def diagnostics(self) -> str:
        """Summarise the broker log for an error message: logged errors, then the tail."""
        # The tail alone is often just the shutdown sequence; the cause was logged earlier.
        errors = "\n".join(self.logged_errors()) or "(none)"
        return f"errors logged by this run:\n{errors}\nbroker.log ({self.log_path}) tail:\n{self.log_tail()}"

    def _raise_if_exited(self) -> None:
        """Fail fast, with the log tail, when the broker process is gone."""
        if self._proc is None:
            raise RuntimeError("LocalKafka.start() was not called")
        code = self._proc.poll()
        if code is not None:
            raise RuntimeError(f"Kafka exited with code {code} before it was ready; {self.diagnostics()}")

    async def _probe(self, timeout_s: float) -> None:
        """Connect an admin client and list topics, the recipe's definition of ready."""
        # A broker mid-start or mid-shutdown may take the connection and never answer: bound it all.
        async with asyncio.timeout(timeout_s):
            # A plain TCP connect first: refused while the JVM boots, without aiokafka's error logging.
            _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            writer.close()
            await writer.wait_closed()
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.bootstrap_servers, request_timeout_ms=max(1000, int(timeout_s * 1000))
            )
            try:
                await admin.start()
                await admin.list_topics()
            finally:
                await admin.close()

    async def wait_ready_async(self, timeout: float | None = None) -> None:
        """Poll until the broker answers an admin request (None waits ready_timeout), else RuntimeError."""
        timeout = self.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        last_error = "no attempt made"
        while True:
            self._raise_if_exited()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(
                    f"Kafka at {self.bootstrap_servers} not ready after {timeout:.0f}s "
                    f"(last error: {last_error}); {self.diagnostics()}"
                )
            try:
                await self._probe(min(5.0, remaining))
                return
            except Exception as exc:  # any failure just means "not ready yet"; the deadline decides
                last_error = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(0.25)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the broker is ready (from sync code; use wait_ready_async inside a loop)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(self.wait_ready_async(timeout))
            return
        raise RuntimeError("wait_ready() called inside a running event loop; await wait_ready_async()")

    def _signal_group(self, sig: signal.Signals) -> None:
        """Send a signal to the broker's process group, ignoring one that is already gone."""
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, sig)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Shut the broker down cleanly (SIGTERM), SIGKILL it after timeout; safe to call twice."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self._proc.wait()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL the broker at once, as a crash would (for crash-recovery tests)."""
        if self._proc is None:
            return
        if self._proc.poll() is None:  # never signal a reaped pid: its number may belong to another process
            self._signal_group(signal.SIGKILL)
            self._proc.wait()
        self._proc = None

    def __enter__(self) -> Self:
        """Start the broker and wait until it is ready."""
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the broker."""
        self.stop()

    async def __aenter__(self) -> Self:
        """Start the broker off the event loop and wait until it is ready."""
        await asyncio.to_thread(self.start)
        try:
            await self.wait_ready_async()
        except BaseException:
            await asyncio.to_thread(self.stop)
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the broker off the event loop."""
        await asyncio.to_thread(self.stop)


class _StopRequested(Exception):
    """Raised from a signal handler to unwind the CLI's foreground wait."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    """Turn SIGINT/SIGTERM into an exception so the finally block stops the broker."""
    raise _StopRequested(signal.Signals(signum).name)


def run_in_foreground(kafka: LocalKafka, timeout: float) -> int:
    """`poverty kafka start`: run the broker in the foreground until a signal arrives or it dies; the exit status."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _raise_stop)
    try:
        kafka.start()
        kafka.wait_ready(timeout)
        print(kafka.bootstrap_servers, flush=True)
        print(
            f"Kafka {KAFKA_VERSION} ready (data {kafka.data_dir}, log {kafka.log_path}); Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        while kafka.is_running:
            time.sleep(0.5)
        print(f"Kafka exited on its own; {kafka.diagnostics()}", file=sys.stderr)
        return 1
    except _StopRequested:
        return 0
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not abandon a half-stopped broker
        kafka.stop()
