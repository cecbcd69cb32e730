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
