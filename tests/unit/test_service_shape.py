"""The four services have one shape (README, "One service shape"): the same files and folders, the same entry
points, domain code free of HTTP, Kafka and the wall clock, rules free of I/O."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from shared.service_index import SERVICES

ROOT = Path(__file__).resolve().parents[2] / "services"
FILES = {"__init__.py", "README.md", "app.py", "settings.py", "models.py", "events.py", "handlers.py", "alembic.ini"}
FOLDERS = {"api", "schemas", "domain", "rules", "migrations"}
# What domain code (use cases and rules) and schemas may not touch: the web, the broker, the wall clock.
EDGES = ("fastapi", "starlette", "aiokafka")
WALL_CLOCK = {"utcnow", "district_today", "now", "today"}
IO = ("sqlalchemy", "sqlmodel.ext", "httpx", "asyncpg", "aiosqlite")
# A column default that reads the wall clock stamps a row with the server's time whatever the use case was given:
# `default_factory=utcnow`, `default=datetime.now`, `server_default=func.now()`, `text("CURRENT_TIMESTAMP")`...
DEFAULTS = {"default", "default_factory", "server_default", "onupdate", "server_onupdate"}
CLOCK_NAMES = WALL_CLOCK | {"current_timestamp", "localtimestamp", "current_date", "sysdate"}
# The services whose models.py is held to it. Not yet projects, subsidies and audit, whose tables still default
# their timestamps to `utcnow`: each joins once its use cases stamp rows with the injected time.
CLOCK_FREE_MODELS = ("households", "projects", "subsidies", "audit")


def top_level(service: str) -> set[str]:
    return {p.name for p in (ROOT / service).iterdir() if p.name != "__pycache__"}


def modules(service: str, folder: str) -> list[Path]:
    return sorted((ROOT / service / folder).rglob("*.py"))


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def clock_reads(path: Path) -> list[int]:
    """Lines that call the wall clock: `utcnow()`, `district_today()`, `datetime.now()`, `date.today()`."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in WALL_CLOCK and not (name in {"now", "today"} and isinstance(func, ast.Name)):
                lines.append(node.lineno)
    return lines


def reads_the_clock(node: ast.AST) -> bool:
    """Whether an expression names the wall clock (`utcnow`, `datetime.now`, `func.now()`, "CURRENT_TIMESTAMP")."""
    for part in ast.walk(node):
        name = part.attr if isinstance(part, ast.Attribute) else part.id if isinstance(part, ast.Name) else None
        if name is not None and name.lower() in CLOCK_NAMES:
            return True
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            text = part.value.lower()
            if "now()" in text or any(name in text for name in CLOCK_NAMES - WALL_CLOCK):
                return True
    return False


def clock_defaults(path: Path) -> list[int]:
    """Lines of a column default that reads the wall clock, as a keyword (`Field(default_factory=utcnow)`,
    `Column(server_default=func.now())`) or a key of keywords passed on (`sa_column_kwargs={"default": ...}`)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.keyword) and node.arg in DEFAULTS and reads_the_clock(node.value):
            lines.append(node.value.lineno)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in DEFAULTS and reads_the_clock(value):
                    lines.append(value.lineno)
    return sorted(lines)


def test_a_clock_default_is_found_however_it_is_written(tmp_path: Path) -> None:
    models = tmp_path / "models.py"
    models.write_text(
        "a: datetime = Field(default_factory=utcnow)\n"
        "b: date = Field(default_factory=date.today)\n"
        "c: datetime = Field(default_factory=lambda: datetime.now(UTC))\n"
        "d: datetime = Field(sa_column_kwargs={'server_default': func.now()})\n"
        "e: datetime = Field(sa_column=Column(DateTime, server_default=text('CURRENT_TIMESTAMP')))\n"
        "f: datetime = Field(sa_type=UTCDateTime)\n"
        "g: int = Field(default=0)\n"
        "h: str = Field(default='today is ok as a word')\n"
    )
    assert clock_defaults(models) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("service", CLOCK_FREE_MODELS)
def test_no_table_defaults_a_timestamp_to_the_wall_clock(service: str) -> None:
    """A row is stamped by the use case with the time it was given (`now`): with no default to fall back on, a
    forgotten stamp fails the insert instead of silently reading the server's clock."""
    path = ROOT / service / "models.py"
    assert not clock_defaults(path), f"{path.relative_to(ROOT)} defaults to the wall clock at {clock_defaults(path)}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_files_and_folders(service: str) -> None:
    assert top_level(service) == FILES | FOLDERS


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_entry_points(service: str) -> None:
    package = f"services.{service}"
    assert callable(importlib.import_module(f"{package}.app").create_app)
    assert callable(importlib.import_module(f"{package}.handlers").build_handlers)
    assert callable(importlib.import_module(f"{package}.events").publish)
    assert importlib.import_module(f"{package}.api").routers
    assert (ROOT / service / "api" / "deps.py").exists()
    settings = importlib.import_module(f"{package}.settings")
    assert hasattr(settings, f"{service.capitalize()}Settings")


@pytest.mark.parametrize("service", SERVICES)
def test_domain_rules_and_schemas_know_nothing_of_http_or_kafka(service: str) -> None:
    for folder in ("domain", "rules", "schemas"):
        for path in modules(service, folder):
            edges = {name for name in imported(path) if name.split(".")[0] in EDGES}
            assert not edges, f"{path.relative_to(ROOT)} imports {sorted(edges)}"


@pytest.mark.parametrize("service", SERVICES)
def test_rules_do_no_io(service: str) -> None:
    for path in modules(service, "rules"):
        io = {name for name in imported(path) if name.startswith(IO)}
        assert not io, f"{path.relative_to(ROOT)} imports {sorted(io)}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_clock_is_injected(service: str) -> None:
    """Use cases, rules, schemas and routes receive the time; only the edges (handlers, jobs) read it once."""
    for folder in ("domain", "rules", "schemas", "api"):
        for path in modules(service, folder):
            if path.parent.name == "imports" or path.stem in {"scheduled", "rekey"}:
                continue  # command-line jobs and the scheduler are edges: they take the time once, at their start
            assert not clock_reads(path), f"{path.relative_to(ROOT)} reads the wall clock at {clock_reads(path)}"
