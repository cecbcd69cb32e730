"""The repository stands alone: no file points a reader to documents outside it.

Whoever clones the repository gets its code, its README and its glossary (docs/glossary.md), and nothing from the
folders that happened to sit beside it while it was written: a path up and out of the repository, or the name of a
document kept there, would send a reader to something they cannot open.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Spelled in pieces, so that this file does not name them itself.
OUTSIDE_DOCUMENTS = ("KAFKA", "TRAPS", "DESIGN", "GLOSSARY", "STYLE")
OUTSIDE = re.compile(
    "|".join(
        [
            re.escape(".." + "/shared"),
            re.escape("shared" + "/seed"),
            re.escape("seed" + "/report"),
            # The project's own glossary is docs/glossary.md: that one may be named.
            r"(?<!docs/)\b(?:" + "|".join(OUTSIDE_DOCUMENTS) + r")\.md\b",
        ]
    ),
    re.IGNORECASE,
)


def repository_files() -> list[Path]:
    """The files git tracks or would track (not ignored), so that a file not yet committed is checked too."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git work tree")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name and (ROOT / name).is_file()]


def mentions(path: Path) -> list[str]:
    """`path:line: text` of each line of a text file that points outside the repository."""
    data = path.read_bytes()
    if b"\0" in data:
        return []  # binary
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return []
    relative = path.relative_to(ROOT).as_posix()
    return [
        f"{relative}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), start=1)
        if OUTSIDE.search(line)
    ]


def test_no_file_points_outside_the_repository() -> None:
    found = [hit for path in repository_files() for hit in mentions(path)]
    assert found == [], "point to docs/glossary.md or say it here instead:\n" + "\n".join(found)


def test_the_glossary_is_there_and_the_readme_links_it() -> None:
    glossary = (ROOT / "docs/glossary.md").read_text(encoding="utf-8")
    assert "](docs/glossary.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    for term in ("problem", "finding", "open finding", "error document", "household register", "service index"):
        assert f"| {term} |" in glossary, f"the glossary names no {term}"


@pytest.mark.parametrize(
    ("line", "outside"),
    [
        ("see " + "GLOSSARY" + ".md", True),
        ("the report in " + "shared" + "/seed", True),
        ("(" + ".." + "/shared/" + "STYLE" + ".md)", True),
        ("`" + "Kafka" + ".md`", True),
        ("see docs/glossary.md", False),
        ("services/households/README.md", False),
        ("from shared.local import demo", False),
    ],
)
def test_what_counts_as_pointing_outside(line: str, outside: bool) -> None:
    assert bool(OUTSIDE.search(line)) is outside
