"""`poverty up`: the whole platform on its embedded defaults (SQLite files, a local Kafka broker)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import signal
import socket
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from shared.local import demo
from shared.local.demo_district.build import build as build_district
from shared.local.demo_subsidies import DemoError
from shared.local.kafka import LocalKafka
from shared.local.processes import ServiceProcess, service_env
from shared.service_index import SERVICES, load_settings

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / ".local"
KAFKA_PORT = 9092
# Each service's /metrics, apart from its API (the containers' default, 9100, would be one port for four processes).
METRICS_PORTS = {"households": 9101, "projects": 9102, "subsidies": 9103, "audit": 9104}
DEMOS = ("small", "district")  # the ten households of the report (the default), or the demo district (3,452)


def up(*, demo_data: bool = True, demo: str = "small") -> int:
    """Start Kafka and the four services, load demo data (`demo`: one of `DEMOS`), print the addresses, run until
    Ctrl-C.

    Refuses (exit status 2, nothing started) while another `up` runs here or a port it needs is taken: a
    second broker on the same data directory corrupts its metadata log, and a service that cannot bind
    would leave the first platform's answering for it.
    """
    if demo not in DEMOS:
        return _refuse(f"no demo named {demo!r}: choose one of {', '.join(DEMOS)}")
    (STATE / "data").mkdir(parents=True, exist_ok=True)
    with sole_platform(STATE / "up.lock") as sole:
        if not sole:
            return _refuse("the platform is already running on this machine (another `make up`); stop it first")
        ports = {name: load_settings(name).port for name in SERVICES} | {
            f"{name} metrics": METRICS_PORTS[name] for name in SERVICES
        }
        ports |= {"kafka": KAFKA_PORT, "kafka controller": KAFKA_PORT + 1}
        taken = ports_in_use(ports)
        if taken:
            return _refuse("ports in use by another program: " + ", ".join(f"{p} ({n})" for n, p in taken.items()))
        _run(demo if demo_data else None)
    return 0


def ports_in_use(ports: Mapping[str, int]) -> dict[str, int]:
    """Those of `ports` (by what would use them) that cannot be bound on 127.0.0.1 now."""
    taken = {}
    for name, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no owner
            try:
                sock.bind(("127.0.0.1", port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                taken[name] = port
    return taken


@contextlib.contextmanager
def sole_platform(lock_path: Path) -> Iterator[bool]:
    """Whether this is the only `up` on the machine, held while the block runs (the kernel frees the lock
    when the process ends, however it ends)."""
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def _refuse(reason: str) -> int:
    print(f"poverty up: {reason}", file=sys.stderr)
    return 2


def _run(demo_data: str | None) -> None:
    # SIGTERM stops the platform as Ctrl-C does, from the start: the broker and services run in sessions of their
    # own (a terminal's Ctrl-C reaches only us), so without this a stop during start-up would leave them running.
    signal.signal(signal.SIGTERM, _interrupt)
    kafka = LocalKafka(data_dir=STATE / "kafka-data", port=KAFKA_PORT, controller_port=KAFKA_PORT + 1)
    print(f"starting Kafka {kafka.bootstrap_servers} (first run fetches the broker's jars from Maven Central)")
    with contextlib.suppress(KeyboardInterrupt), kafka:
        processes = [_service(name, kafka.bootstrap_servers) for name in SERVICES]
        try:
            _start(processes, kafka, demo_data)
            signal.pause()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not leave half the platform running
            for process in processes:
                process.stop()


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _start(processes: list[ServiceProcess], kafka: LocalKafka, demo_data: bool | str | None) -> None:
    """Migrate and start the services, then load the demo (`True` or "small": the small demo; "district": the demo
    district; `False` or None: none)."""
    for process in processes:
        asyncio.run(_migrate(process.name))
        process.start()
    for process in processes:
        process.wait_ready()
    if demo_data == "district":
        _load_district(processes)
    elif demo_data:
        # Subsidies' month of the report is replayed in-process on the running service's own database.
        urls = {p.name: p.base_url for p in processes}
        try:
            print(demo.load(urls, subsidies_database_url=database_url("subsidies")).summary(), flush=True)
        except DemoError as exc:  # the platform runs on without the month: the summary says why
            print(f"demo data: June 2020 of the report's programmes not paid: {exc}", file=sys.stderr, flush=True)
    _print_addresses(processes, kafka)


def _load_district(processes: list[ServiceProcess]) -> None:
    urls = {p.name: p.base_url for p in processes}
    print("building the demo district (3,452 households; a few minutes)", flush=True)
    try:
        print("\n".join(build_district(urls, {name: database_url(name) for name in SERVICES})), flush=True)
    except DemoError as exc:  # the platform runs on with what was built: the message says what is missing
        print(f"demo district not built: {exc}", file=sys.stderr, flush=True)


def database_url(service: str) -> str:
    """The SQLite file a service of the local platform keeps its data in."""
    return f"sqlite+aiosqlite:///{STATE / 'data' / service}.db"


def _service(name: str, kafka: str) -> ServiceProcess:
    settings = load_settings(name)
    metrics_port = METRICS_PORTS[name]
    return ServiceProcess(
        name,
        settings.port,
        service_env(
            name, database_url=database_url(name), kafka=kafka, port=settings.port, metrics_port=str(metrics_port)
        ),
        STATE / "logs" / f"{name}.log",
        metrics_port=metrics_port,
    )


async def _migrate(service: str) -> None:
    from shared.db import create_engine
    from shared.migrations import upgrade_to_head

    engine = create_engine(database_url(service))
    try:
        await upgrade_to_head(engine, service)
    finally:
        await engine.dispose()


def _print_addresses(processes: list[ServiceProcess], kafka: LocalKafka) -> None:
    print("\nThe platform is up:")
    for process in processes:
        print(
            f"  {process.name:<11} {process.base_url}   docs {process.base_url}/docs   metrics {process.metrics_url}"
            f"   log {process.log_path}"
        )
    print(f"  kafka       {kafka.bootstrap_servers}")
    poverty = _poverty_command()
    print(f"\nA token for curl:  export TOKEN=$({poverty} token --role district_office)")
    print(f"Every command:     {poverty} --help")
    print("Stop with Ctrl-C.", flush=True)


def _poverty_command() -> str:
    """How to call `poverty` from here: the one beside this interpreter (the project's virtualenv), named relative to
    the working directory when it is inside it (`.venv/bin/poverty`)."""
    command = Path(sys.executable).parent / "poverty"
    with contextlib.suppress(ValueError):
        command = command.relative_to(Path.cwd())
    return str(command)
