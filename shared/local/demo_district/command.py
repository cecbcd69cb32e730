"""`poverty demo`: build the demo district in a running platform (see the package's docstring)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx
from sqlalchemy.exc import SQLAlchemyError

from shared.local.demo_district.population import FULL
from shared.local.demo_subsidies import DemoError

SMALLEST = 100  # fewer households leave some of the report's counts at one, or none


def _count(text: str) -> int:
    if not text.isdigit() or not SMALLEST <= int(text) <= FULL:
        raise argparse.ArgumentTypeError(f"the number of households is a whole number from {SMALLEST} to {FULL}")
    return int(text)


def add_parser(commands: Any) -> None:
    """`poverty demo [--households URL ...] [--households-count N]`."""
    demo = commands.add_parser(
        "demo",
        help="build the demo district of the half-year report (3,452 households) in a running platform",
        description="Build a synthetic district shaped on the district's 2020 first-half report, through the services' "
        "APIs and the households import: 3,452 households with their members, the half year's department data, "
        "visits, appraisals and monitoring, June 2020's programmes paid through subsidies, the projects with their "
        "funds, income, posts, payroll and 双提升 plan, and the findings rectified in audit; so that each service's "
        "`GET /v1/report` for 2020-01-01..2020-06-30 gives the report's figures. The services' databases are "
        "read from their settings (HOUSEHOLDS_DATABASE_URL, PROJECTS_DATABASE_URL, SUBSIDIES_DATABASE_URL, "
        "AUDIT_DATABASE_URL), as the services read them: the import and the replayed stages write there. Start on "
        "empty databases; building twice changes nothing.",
    )
    for name, port in (("households", 8001), ("projects", 8002), ("subsidies", 8003), ("audit", 8004)):
        demo.add_argument(f"--{name}", default=f"http://127.0.0.1:{port}", help=f"the {name} service's address")
    demo.add_argument(
        "--households-count",
        type=_count,
        default=FULL,
        help=f"households to build (default {FULL}, the report's; fewer scale every count down, for a quick try)",
    )


def run(args: argparse.Namespace) -> int:
    from shared.local.demo_district.build import build
    from shared.service_index import load_settings

    urls = {name: getattr(args, name) for name in ("households", "projects", "subsidies", "audit")}
    databases = {name: load_settings(name).database_url for name in urls}
    try:
        lines = build(urls, databases, households_count=args.households_count)
    except (DemoError, httpx.HTTPError, OSError, SQLAlchemyError) as exc:
        print(f"poverty demo: the district was not built: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0
