"""The locks under requirements/ pin what pyproject.toml asks for: editing one without the other fails here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pins(lock: str) -> dict[str, str]:
    """Package name (canonical) -> pinned version; every pin must carry hashes."""
    text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", text):
        match = PIN.match(block)
        if match:
            assert "--hash=sha256:" in block, f"{lock}: {match.group(1)} is pinned without a hash"
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def unmet(requirements: list[str], pinned: dict[str, str]) -> list[str]:
    """The requirements the pins leave out or do not satisfy."""
    problems = []
    for line in requirements:
        requirement = Requirement(line)
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{line} (locked: {version})")
    return problems


@pytest.mark.parametrize(("lock", "groups"), [("runtime.txt", ["dependencies"]), ("dev.txt", ["dependencies", "dev"])])
def test_the_lock_pins_every_dependency_within_its_range(lock: str, groups: list[str]) -> None:
    wanted = [
        r for g in groups for r in (PYPROJECT[g] if g == "dependencies" else PYPROJECT["optional-dependencies"][g])
    ]
    assert unmet(wanted, pins(lock)) == [], "run `make lock`"


def test_a_range_the_lock_does_not_meet_is_reported() -> None:
    assert unmet(["fastapi>=0.115,<1", "missing-package"], {"fastapi": "1.2"}) == [
        "fastapi>=0.115,<1 (locked: 1.2)",
        "missing-package (locked: None)",
    ]


def test_the_runtime_lock_holds_no_development_tool() -> None:
    tools = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["optional-dependencies"]["dev"]}
    assert tools & set(pins("runtime.txt")) == set()
