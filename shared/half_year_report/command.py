"""`poverty report`: the district's half-year (or quarter's) report, section one, composed from the four services'
parts (`GET /v1/report`) over REST, as an integrator would.

Writes into --out: report.md (the seed report's headings and sentences with the figures filled in), report.html (a
self-contained page with charts), tables/<name>.csv (UTF-8 with BOM) and report.xlsx. A figure the platform does not
hold is written 〔缺: …〕, never invented. A service that cannot be read leaves its figures missing: the report is
still written, and the exit status is 1 with the reason on stderr. Bad options: exit status 2, nothing written.
Every file is rendered before the first is written. The token: $POVERTY_TOKEN (or --token, visible to other users).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shared.auth import issue_token
from shared.half_year_report import markdown
from shared.half_year_report.compose import compose
from shared.half_year_report.document import Document
from shared.half_year_report.fetch import DEFAULT_BASES, fetch
from shared.half_year_report.period import PeriodError, area_of, period_of
from shared.half_year_report.tables import table_files
from shared.settings import DEFAULT_DISTRICT_CODE, DEV_JWT_SECRET

USAGE_ERROR = 2  # the options name no period, area, directory or token the report can use: nothing read or written
SOURCE_ERROR = 1  # a service could not be read: the report is written with its figures missing (or not written)
TOKEN_ENV = "POVERTY_TOKEN"  # noqa: S105 - the variable's name, not a token


class UsageError(ValueError):
    """An option the report cannot work with; the message says why."""


def add_parser(commands: Any) -> None:
    """`poverty report (--half Y-H1 | --quarter Y-Q2 | --from D --to D) [--area-code CODE] [--out DIR] ...`."""
    report = commands.add_parser(
        "report",
        help="compose the half-year report's section one from the four services (Markdown, HTML, CSV, XLSX)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    period = report.add_argument_group("the period (exactly one of)")
    period.add_argument("--half", metavar="YEAR-H1|YEAR-H2", help="a half year, e.g. 2020-H1")
    period.add_argument("--quarter", metavar="YEAR-Qn", help="a quarter, e.g. 2020-Q2")
    period.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="the first day (with --to)")
    period.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="the last day, included")
    report.add_argument(
        "--area-code",
        default=DEFAULT_DISTRICT_CODE,
        help=f"the district {DEFAULT_DISTRICT_CODE} (the default), one of its townships (9 digits) or villages (12)",
    )
    report.add_argument("--out", type=Path, help="the directory written (default ./report-<period>)")
    for service, base in DEFAULT_BASES.items():
        report.add_argument(f"--{service}", default=base, metavar="URL", help=f"the {service} service ({base})")
    report.add_argument(
        "--token",
        help=f"the bearer token; prefer ${TOKEN_ENV}: a token on the command line is visible to every user of the "
        "machine (ps). Without either, a development token for district_office signed with the development secret, "
        "for the local platform only (refused for a service not on this machine)",
    )


def _is_local(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _token(args: argparse.Namespace, bases: dict[str, str]) -> str:
    given: str | None = args.token or os.environ.get(TOKEN_ENV)
    if given:
        return given
    far = [url for url in bases.values() if not _is_local(url)]
    if far:
        raise UsageError(f"no token given (${TOKEN_ENV}) for {far[0]}: the development token is for this machine only")
    print(
        f"poverty report: no token given (${TOKEN_ENV}): using a development token for district_office",
        file=sys.stderr,
    )
    return issue_token(DEV_JWT_SECRET, "poverty-report", ["district_office"])


def _writable(out: Path) -> Path:
    """The directory to write, if it is one or can be made: its nearest existing ancestor a writable directory."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a directory")
    ancestor = out
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"--out {out}: {ancestor} is a file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: {ancestor} is not writable")
    return out


def _rendered(document: Document) -> dict[str, bytes]:
    """Every file of the report by its path under --out, rendered before any is written."""
    from shared.half_year_report import html  # matplotlib, imported only when a report is written

    return {
        "report.md": markdown.render(document).encode("utf-8"),
        "report.html": html.render(document).encode("utf-8"),
        **table_files(document.tables),
    }


def _write(out: Path, files: dict[str, bytes]) -> list[Path]:
    """Each file written whole: into a partial file first, then renamed over the name."""
    written = []
    for name, content in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(content)
        partial.replace(path)
        written.append(path)
    return written


def run(args: argparse.Namespace) -> int:
    """Read the parts, compose the report and write its files; prints each file written."""
    bases = {service: getattr(args, service) for service in DEFAULT_BASES}
    try:
        period = period_of(args.half, args.quarter, args.start, args.end)
        area_code = area_of(args.area_code)
        out = _writable(args.out or Path(f"report-{period.slug}"))
        token = _token(args, bases)
    except (PeriodError, UsageError) as exc:
        print(f"poverty report: {exc}", file=sys.stderr)
        return USAGE_ERROR
    document = compose(asyncio.run(fetch(bases, token, period, area_code)), period, area_code)
    try:
        written = _write(out, _rendered(document))
    except OSError as exc:
        print(f"poverty report: cannot write into {out}: {exc.strerror or exc}", file=sys.stderr)
        return SOURCE_ERROR
    for path in written:
        print(path)
    failed = [s for s in document.sources if s.error]
    for source in failed:
        print(f"poverty report: {source.service} not read ({source.url}): {source.error}", file=sys.stderr)
    return SOURCE_ERROR if failed else 0
