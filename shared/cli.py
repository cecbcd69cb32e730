"""`poverty`: the platform's one command line.

Run the services (serve, migrate, up, demo-data), work with them (token, replay-dlq, quarantine, a local Kafka
broker), publish what they promise (openapi, asyncapi), keep the household register (import, rekey) and compose the
half-year report from the services' parts (report).
`poverty COMMAND --help` tells more.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import ValidationError

from shared import quarantine_cli
from shared.areas import is_area_code
from shared.auth import AREA_SCOPED, Role
from shared.half_year_report import command as report_command
from shared.local.demo_district import command as demo_district_command
from shared.service_index import SERVICES

CONFIGURATION_ERROR = 2  # the exit status of a configuration the settings refuse
USAGE_ERROR = 2  # the exit status of a command the arguments make impossible (argparse's own, too)
ROLES = tuple(role.value for role in Role)
SCOPED_ROLES = tuple(role.value for role in Role if role in AREA_SCOPED)

# The household register's own command lines (argv in, exit status out), where the households service keeps them:
# the first of these modules that has a `main` runs, and parses its own options (none is a `python -m` program).
HOUSEHOLD_IMPORT_MODULES = ("services.households.domain.imports.command",)
REKEY_MODULES = ("services.households.domain.rekey",)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="poverty", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run one service: its HTTP API, outbox relay and event consumer")
    serve.add_argument("service", choices=SERVICES)
    migrate = commands.add_parser("migrate", help="bring a service's database to its schema (alembic upgrade head)")
    migrate.add_argument("service", choices=SERVICES)
    up = commands.add_parser(
        "up", help="start the whole platform here: a local Kafka broker, the four services on SQLite, demo data"
    )
    up.add_argument("--no-demo", action="store_true", help="do not load the demo households")
    up.add_argument(
        "--demo",
        choices=("small", "district"),
        default="small",
        help="the demo loaded: the report's ten households (small, the default) or the demo district of the "
        "half-year report (district: 3,452 households, a few minutes)",
    )
    demo = commands.add_parser(
        "demo-data",
        help="register the demo households of the district's report in a running platform (dev JWT secret)",
        description="Register ten households of the district's report, their visits and civil affairs' 低保 (what "
        "`poverty up` loads); with --subsidies, also pay June 2020 of the report's programmes end to end; with "
        "--projects, also load the report's industrial projects, funds, income, jobs and 双提升 plan (paid through "
        "subsidies with --subsidies too). The requests are signed with the development JWT secret. Loading them "
        "twice changes nothing.",
    )
    demo.add_argument("--households", default="http://127.0.0.1:8001", help="the households service's address")
    demo.add_argument(
        "--subsidies",
        help="the subsidies service's address: also pay June 2020 of the report's programmes, the month replayed "
        "in this process on the service's own database (SUBSIDIES_DATABASE_URL, as the service reads it)",
    )
    demo.add_argument(
        "--projects",
        help="the projects service's address: also load the report's projects, after the subsidies month",
    )
    _token_parser(commands)
    _replay_parser(commands)
    quarantine_cli.add_parser(commands)
    report_command.add_parser(commands)
    demo_district_command.add_parser(commands)
    _kafka_parser(commands)
    openapi = commands.add_parser(
        "openapi",
        help="print a service's OpenAPI document (JSON), as published with a release",
        description="Print a service's OpenAPI document (JSON) to publish with a release: production serves none.",
    )
    openapi.add_argument("service", choices=SERVICES)
    commands.add_parser(
        "asyncapi",
        help="print the AsyncAPI document of every event the services publish (JSON)",
        description="Print the AsyncAPI 3.0 document of every event, each topic and its dead-letter topic (JSON).",
    )
    ledger = commands.add_parser(
        "verify-ledger",
        help="verify audit's tamper-evident log (防篡改日志) in its database, and the state against it; exit status "
        "1 on a broken chain or a difference",
        description="Walk audit's hash-chained log in the database AUDIT_DATABASE_URL names and print what was "
        "checked and every broken link, if any (exit status 1), and whether its role could change the log "
        "(`protected`). The log must still reach every head anchored so "
        "far (kept in the database) and those of --anchors files: the check that catches a cut tail or a rewrite "
        "with every hash recomputed. Then replay the state the log records for findings, tasks and referrals and "
        "compare it with their tables (`state`: every difference, and every move in the log the rules forbid; exit "
        "status 1).",
    )
    ledger.add_argument("--head", help="an exported head, <seq>:<entry_hash>")
    ledger.add_argument(
        "--anchors",
        action="append",
        default=[],
        metavar="FILE",
        help="anchored heads kept outside the database: a handover package (JSON), or a JSON list of anchors or of "
        "LedgerHeadAnchored payloads read back from audit.events; may be repeated",
    )
    # Listed here for `poverty --help`; `main` hands their arguments to the households tools, which parse them.
    commands.add_parser(
        "import",
        add_help=False,
        help="import registered households (建档立卡) from a CSV file or XLSX workbook (poverty import --help)",
    )
    commands.add_parser(
        "rekey",
        add_help=False,
        help="re-seal members' ID-card numbers under the active key, or rehash them (poverty rekey --help)",
    )
    return parser


def _token_parser(commands: Any) -> None:
    token = commands.add_parser(
        "token",
        help="issue a development bearer token (HS256, signed with JWT_SECRET)",
        description=(
            "Issue a development bearer token signed with the configured HS256 secret. The area-scoped roles "
            f"({', '.join(SCOPED_ROLES)}) reach only their --area and need one; the others are district-wide."
        ),
    )
    token.add_argument("--role", action="append", required=True, dest="roles", choices=ROLES, metavar="ROLE",
                       help=f"a role the token grants (repeatable): {', '.join(ROLES)}")  # fmt: skip
    token.add_argument("--area", default=None,
                       help="the area a scoped role reaches: a 6-digit district, 9-digit township (乡镇) or "
                            "12-digit village (村) code")  # fmt: skip
    token.add_argument("--sub", default="dev-officer", help="who the token names (recorded as the actor)")
    token.add_argument("--ttl", type=int, default=8 * 3600, help="seconds the token lives (at most JWT_MAX_LIFETIME_S)")


def _replay_parser(commands: Any) -> None:
    replay = commands.add_parser(
        "replay-dlq",
        help="put a dead-letter topic's records back on their source topic once the cause is fixed",
    )
    replay.add_argument("topic", help="the dead-letter topic, e.g. households.events.dlq")
    replay.add_argument("--bootstrap", default="127.0.0.1:9092", help="the brokers (without --service)")
    replay.add_argument(
        "--service", choices=SERVICES, help="take the brokers and their security from this service's settings"
    )
    replay.add_argument("--group", default="dlq-replay", help="consumer group that remembers what was replayed")
    only = replay.add_argument_group(
        "selection", "replay only these (read from the start; no group remembers a selective replay)"
    )
    only.add_argument("--partition", type=int, help="the dead-letter topic's partition")
    only.add_argument("--from-offset", type=int, help="the first offset taken (of --partition)")
    only.add_argument("--to-offset", type=int, help="the last offset taken (of --partition)")
    only.add_argument(
        "--type", dest="event_type", help="a CloudEvents type, e.g. gov.poverty.households.member_added.v1"
    )
    only.add_argument("--id", dest="event_id", help="one event's CloudEvents id")


def _kafka_parser(commands: Any) -> None:
    kafka = commands.add_parser(
        "kafka",
        help="a local single-node Kafka broker for development and tests (start, fetch)",
        description="A real single-node Apache Kafka broker (KRaft) on 127.0.0.1, from Maven Central's jars.",
    )
    actions = kafka.add_subparsers(dest="kafka_command", required=True, metavar="ACTION")
    start = actions.add_parser("start", help="run a broker in the foreground until Ctrl-C or SIGTERM")
    start.add_argument("--port", type=int, default=9092, help="the clients' (PLAINTEXT) port")
    start.add_argument("--controller-port", type=int, default=None, help="the KRaft controller's port (port+1)")
    start.add_argument("--data-dir", type=Path, default=None, help="kept across restarts (.local/kafka-data)")
    start.add_argument("--timeout", type=float, default=120, help="seconds to wait for the broker to be ready")
    actions.add_parser("fetch", help="only download the broker's jars into the cache (.local/kafka-<version>)")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments and arguments[0] in HOUSEHOLD_TOOLS:
            return HOUSEHOLD_TOOLS[arguments[0]](arguments[1:])
        return _run(_parser().parse_args(arguments))
    except ValidationError as exc:
        # Only where and what: pydantic's own text repeats the input, and the settings' input holds the secrets.
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "settings"
            print(f"invalid configuration: {where}: {error['msg']}", file=sys.stderr)
        return CONFIGURATION_ERROR


def _run(args: argparse.Namespace) -> int:
    return COMMANDS[args.command](args)


def _up(args: argparse.Namespace) -> int:
    from shared.local.platform import up

    return up(demo_data=not args.no_demo, demo=args.demo)


def serve(service: str) -> int:
    """Run the service over HTTP on its configured host and port."""
    from shared.server import serve as serve_http
    from shared.service_index import create_app, load_settings

    settings = load_settings(service)
    return serve_http(create_app(service, settings), host=settings.host, port=settings.port)


async def migrate(service: str) -> int:
    """Apply the service's migrations to its configured database."""
    from shared.db import create_engine
    from shared.migrations import MigrationRefused, upgrade_to_head
    from shared.service_index import load_settings

    settings = load_settings(service)
    engine = create_engine(settings.migration_url())
    try:
        await upgrade_to_head(engine, service)
    except MigrationRefused as exc:
        print(f"poverty migrate {service}: {exc}", file=sys.stderr)
        return CONFIGURATION_ERROR
    finally:
        await engine.dispose()
    print(f"{service}: migrations at head")
    return 0


def replay_dead_letters(args: Any) -> int:
    """Republish a dead-letter topic's records (all not yet replayed, or a selection), on the given brokers or on a
    service's (with its security); those still poison are listed, not republished."""
    from shared.messaging.dlq import Selection, replay
    from shared.messaging.kafka import PLAINTEXT
    from shared.service_index import load_settings

    bootstrap, security = args.bootstrap, PLAINTEXT
    if args.service is not None:
        settings = load_settings(args.service)
        bootstrap, security = settings.kafka_bootstrap_servers, settings.kafka_security()
    if (args.from_offset is not None or args.to_offset is not None) and args.partition is None:
        print("--from-offset and --to-offset need --partition", file=sys.stderr)
        return USAGE_ERROR
    selection = Selection(args.partition, args.from_offset, args.to_offset, args.event_type, args.event_id)
    report = asyncio.run(
        replay(args.topic, bootstrap_servers=bootstrap, group_id=args.group, security=security, selection=selection)
    )
    print(f"replayed {report.replayed} records from {args.topic}")
    for poison in report.still_poison:
        print(f"still poison, left in {args.topic}: {poison}")
    return 0


def print_token(roles: list[str], area: str | None, sub: str, ttl: int) -> int:
    """Print a development token signed with the configured HS256 secret: one the services would accept.

    An area-scoped role without an area, or an area that is no division code, is refused (exit status 2, nothing
    printed): the services would refuse the token.
    """
    from shared.auth import issue_token
    from shared.settings import ServiceSettings

    scoped = [role for role in roles if Role(role) in AREA_SCOPED]
    if scoped and area is None:
        print(
            f"poverty token: an area-scoped role ({', '.join(scoped)}) needs --area: a 6-digit district, "
            "9-digit township or 12-digit village code",
            file=sys.stderr,
        )
        return USAGE_ERROR
    if area is not None and not is_area_code(area):
        print("poverty token: --area must be a 6-digit district, 9-digit township or 12-digit village code",
              file=sys.stderr)  # fmt: skip
        return USAGE_ERROR
    settings = ServiceSettings(database_url="unused")
    if not 0 < ttl <= settings.jwt_max_lifetime_s:
        print(f"--ttl must be 1-{settings.jwt_max_lifetime_s} seconds (JWT_MAX_LIFETIME_S)", file=sys.stderr)
        return CONFIGURATION_ERROR
    print(issue_token(settings.jwt_secret.get_secret_value(), sub, roles, area, ttl))
    return 0


def verify_ledger(head: str | None, anchor_files: Sequence[str]) -> int:
    """Verify audit's log in its configured database and the state against it; print the result as JSON; 1 if the
    chain is broken or the state differs."""
    from services.audit.domain.ledger_state import check_database
    from services.audit.rules.ledger import parse_head
    from shared.service_index import load_settings

    try:
        expected = None if head is None else parse_head(head)
        anchors = [anchor for name in anchor_files for anchor in _anchors_of(name)]
    except ValueError as exc:
        print(f"poverty verify-ledger: {exc}", file=sys.stderr)
        return USAGE_ERROR
    chain, state = asyncio.run(
        check_database(load_settings("audit").database_url, expected_head=expected, anchors=anchors)
    )
    print(json.dumps({**dataclasses.asdict(chain), "state": dataclasses.asdict(state)}, ensure_ascii=False, indent=2))
    return 0 if chain.ok and state.ok else 1


def _anchors_of(name: str) -> list[tuple[int, str]]:
    """The anchored heads of a file `--anchors` names; ValueError saying what is wrong with it."""
    from services.audit.rules.ledger import anchors_in

    try:
        document = json.loads(Path(name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"--anchors {name}: cannot be read as JSON ({type(exc).__name__})") from None
    try:
        return anchors_in(document)
    except ValueError as exc:
        raise ValueError(f"--anchors {name}: {exc}") from None


def load_demo_data(households: str, subsidies: str | None, projects: str | None) -> int:
    """Register the demo households through the households service's API; with subsidies' address, pay June 2020
    of the report's programmes on subsidies' database; with projects', load the report's projects."""
    from shared.local.demo import load
    from shared.service_index import load_settings

    urls = {"households": households} | ({"subsidies": subsidies} if subsidies else {})
    urls |= {"projects": projects} if projects else {}
    database_url = load_settings("subsidies").database_url if subsidies else None
    print(load(urls, subsidies_database_url=database_url).summary())
    return 0


def local_kafka(args: argparse.Namespace) -> int:
    """`poverty kafka start|fetch`: run a local broker in the foreground, or only fetch its jars."""
    from shared.local.kafka import DEFAULT_DATA_DIR, LocalKafka, ensure_jars, run_in_foreground

    if args.kafka_command == "fetch":
        print(ensure_jars())
        return 0
    controller_port = args.controller_port or args.port + 1
    broker = LocalKafka(args.data_dir or DEFAULT_DATA_DIR, args.port, controller_port)
    return run_in_foreground(broker, args.timeout)


def print_openapi(service: str) -> int:
    """Print the service's OpenAPI document, built from its code as it would serve it (no database, no broker)."""
    from shared.service_index import create_app, settings_class

    document = create_app(service, settings_class(service)(kafka_enabled=False)).openapi()
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return 0


def print_asyncapi() -> int:
    """Print the AsyncAPI document of every event, generated from the contracts."""
    from shared.contracts.asyncapi import asyncapi_document

    print(json.dumps(asyncapi_document(), ensure_ascii=False, indent=2))
    return 0


def _households_tool(candidates: Sequence[str]) -> ModuleType:
    """The first of `candidates` that can be imported and has a `main`."""
    for name in candidates:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
                raise  # the module is there but something it imports is not
            continue
        if callable(getattr(module, "main", None)):
            return module
    raise RuntimeError(f"none of {', '.join(candidates)} has a main(argv)")


def household_import(argv: list[str]) -> int:
    """`poverty import FILE ...`: the households service's bulk import of registered households."""
    tool = _households_tool(HOUSEHOLD_IMPORT_MODULES)
    tune_gc = getattr(tool, "tune_gc", None)
    if callable(tune_gc):
        tune_gc()  # a bulk run makes millions of short-lived objects: collect rarely
    from shared.tracing import traced_job

    with traced_job("households", "poverty import"):
        return int(tool.main(argv))


def rekey(argv: list[str]) -> int:
    """`poverty rekey [--rehash]`: re-seal ID-card numbers under the active key, or recompute their keyed hashes."""
    from shared.tracing import traced_job

    with traced_job("households", "poverty rekey"):
        return int(_households_tool(REKEY_MODULES).main(argv))


HOUSEHOLD_TOOLS: dict[str, Callable[[list[str]], int]] = {"import": household_import, "rekey": rekey}
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": lambda args: serve(args.service),
    "verify-ledger": lambda args: verify_ledger(args.head, args.anchors),
    "migrate": lambda args: asyncio.run(migrate(args.service)),
    "up": _up,
    "demo-data": lambda args: load_demo_data(args.households, args.subsidies, args.projects),
    "token": lambda args: print_token(args.roles, args.area, args.sub, args.ttl),
    "replay-dlq": replay_dead_letters,
    "quarantine": quarantine_cli.run,
    "report": report_command.run,
    "demo": demo_district_command.run,
    "kafka": local_kafka,
    "openapi": lambda args: print_openapi(args.service),
    "asyncapi": lambda _: print_asyncapi(),
}


if __name__ == "__main__":
    sys.exit(main())
