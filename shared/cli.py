"""`poverty`: the platform's command line (serve, migrate, up, token, replay-dlq)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from shared.registry import SERVICES

CONFIGURATION_ERROR = 2  # the exit status of a configuration the settings refuse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="poverty", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run one service (HTTP, outbox relay, consumer)")
    serve.add_argument("service", choices=SERVICES)
    migrate = commands.add_parser("migrate", help="apply a service's migrations (alembic upgrade head)")
    migrate.add_argument("service", choices=SERVICES)
    up = commands.add_parser("up", help="start the whole platform locally on its embedded defaults")
    up.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    token = commands.add_parser("token", help="issue a development bearer token (HS256, dev secret)")
    token.add_argument("--role", action="append", required=True, dest="roles")
    token.add_argument("--area", default=None)
    token.add_argument("--sub", default="dev-officer")
    token.add_argument("--ttl", type=int, default=8 * 3600)
    replay = commands.add_parser("replay-dlq", help="republish a dead-letter topic's records to their source topic")
    replay.add_argument("topic", help="the dead-letter topic, e.g. households.events.dlq")
    replay.add_argument("--bootstrap", default="127.0.0.1:9092")
    replay.add_argument(
        "--service", choices=SERVICES, help="take the brokers and their security from this service's settings"
    )
    replay.add_argument("--group", default="dlq-replay", help="consumer group that remembers what was replayed")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except ValidationError as exc:
        # Only where and what: pydantic's own text repeats the input, and the settings' input holds the secrets.
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "settings"
            print(f"invalid configuration: {where}: {error['msg']}", file=sys.stderr)
        return CONFIGURATION_ERROR


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return serve(args.service)
    if args.command == "migrate":
        return asyncio.run(migrate(args.service))
    if args.command == "up":
        from shared.local.platform import up

        return up(demo_data=not args.no_demo)
    if args.command == "token":
        return print_token(args.roles, args.area, args.sub, args.ttl)
    return replay_dead_letters(args.topic, args.group, args.bootstrap, args.service)


def serve(service: str) -> int:
    """Run the service over HTTP on its configured host and port."""
    from shared.registry import create_app, load_settings
    from shared.server import serve as serve_http

    settings = load_settings(service)
    return serve_http(create_app(service, settings), host=settings.host, port=settings.port)


async def migrate(service: str) -> int:
    """Apply the service's migrations to its configured database."""
    from shared.db import create_engine
    from shared.migrations import upgrade_to_head
    from shared.registry import load_settings

    engine = create_engine(load_settings(service).database_url)
    try:
        await upgrade_to_head(engine, service)
    finally:
        await engine.dispose()
    print(f"{service}: migrations at head")
    return 0


def replay_dead_letters(topic: str, group: str, bootstrap: str, service: str | None) -> int:
    """Republish a dead-letter topic's records, on the given brokers or on a service's (with its security)."""
    from shared.messaging.dlq import replay
    from shared.messaging.kafka import PLAINTEXT
    from shared.registry import load_settings

    security = PLAINTEXT
    if service is not None:
        settings = load_settings(service)
        bootstrap, security = settings.kafka_bootstrap_servers, settings.kafka_security()
    count = asyncio.run(replay(topic, bootstrap_servers=bootstrap, group_id=group, security=security))
    print(f"replayed {count} records from {topic}")
    return 0


def print_token(roles: list[str], area: str | None, sub: str, ttl: int) -> int:
    """Print a development token signed with the configured HS256 secret."""
    from shared.auth import issue_token
    from shared.settings import ServiceSettings

    settings = ServiceSettings(database_url="unused")
    if not 0 < ttl <= settings.jwt_max_lifetime_s:
        print(f"--ttl must be 1-{settings.jwt_max_lifetime_s} seconds (JWT_MAX_LIFETIME_S)", file=sys.stderr)
        return CONFIGURATION_ERROR
    print(issue_token(settings.jwt_secret.get_secret_value(), sub, roles, area, ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
