"""`poverty report`: the district's half-year (or quarter's) report, section one, composed from the four services'
parts (`GET /v1/report`) over REST, as an integrator would.

Writes into --out: report.md (the seed report's headings and sentences with the figures filled in), report.html (a
self-contained page with charts), tables/<name>.csv (UTF-8 with BOM) and report.xlsx. A figure the platform does not
hold is written 〔缺: …〕, never invented. A service that cannot be read leaves its figures missing: the report is
still written, and the exit status is 1 with the reason on stderr. Bad options: exit status 2, nothing written.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from shared.auth import issue_token
from shared.half_year_report import markdown
from shared.half_year_report.compose import compose
from shared.half_year_report.fetch import DEFAULT_BASES, fetch
from shared.half_year_report.period import DISTRICT_CODE, PeriodError, area_of, period_of
from shared.half_year_report.tables import write_tables
from shared.settings import DEV_JWT_SECRET

USAGE_ERROR = 2  # the options name no period or area the services can report on: nothing read or written
SOURCE_ERROR = 1  # a service could not be read: the report is written with its figures missing
TOKEN_ENV = "POVERTY_TOKEN"  # noqa: S105 - the variable's name, not a token


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
        default=DISTRICT_CODE,
        help=f"the district, a township (9 digits) or a village (12 digits); default {DISTRICT_CODE}",
    )
    report.add_argument("--out", type=Path, help="the directory written (default ./report-<period>)")
    for service, base in DEFAULT_BASES.items():
        report.add_argument(f"--{service}", default=base, metavar="URL", help=f"the {service} service ({base})")
    report.add_argument(
        "--token",
        help=f"the bearer token (default ${TOKEN_ENV}, else a development token for "
        "district_office signed with the development secret: the local platform)",
    )


def _token(args: argparse.Namespace) -> str:
    return args.token or os.environ.get(TOKEN_ENV) or issue_token(DEV_JWT_SECRET, "poverty-report", ["district_office"])


def run(args: argparse.Namespace) -> int:
    """Read the parts, compose the report and write its files; prints each file written."""
    try:
        period = period_of(args.half, args.quarter, args.start, args.end)
        area_code = area_of(args.area_code)
    except PeriodError as exc:
        print(f"poverty report: {exc}", file=sys.stderr)
        return USAGE_ERROR
    out: Path = args.out or Path(f"report-{period.slug}")
    if out.exists() and not out.is_dir():
        print(f"poverty report: --out {out} is a file, not a directory", file=sys.stderr)
        return USAGE_ERROR
    from shared.half_year_report import html  # matplotlib, imported only when a report is written

    bases = {service: getattr(args, service) for service in DEFAULT_BASES}
    fetched = asyncio.run(fetch(bases, _token(args), period, area_code))
    document = compose(fetched, period, area_code)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(markdown.render(document), encoding="utf-8")
    (out / "report.html").write_text(html.render(document), encoding="utf-8")
    written = [
        out / "report.md",
        out / "report.html",
        *write_tables(document.tables, out / "tables", out / "report.xlsx"),
    ]
    for path in written:
        print(path)
    failed = [s for s in document.sources if s.error]
    for source in failed:
        print(f"poverty report: {source.service} not read ({source.url}): {source.error}", file=sys.stderr)
    return SOURCE_ERROR if failed else 0
