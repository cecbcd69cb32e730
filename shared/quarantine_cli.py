"""`poverty quarantine list|show|replay|dismiss --service NAME`: the records a service's consumer could not unpack.

Each quarantined row holds its record's raw bytes, as a batch of that one record, or the raw batch it stands for when
the batch cannot be opened as a whole (`shared.messaging.quarantine`). `list` reads the rows' facts only, never their
bytes. `show` prints a row's facts and its bytes (capped: a batch may be a megabyte), which hold no other record's.
`replay` decodes the row's records again with the Kafka client installed now (say, once the missing codec is) and,
if every one decodes, republishes them to their source topic (key, value, headers) and marks the row replayed: the
consumer applies them there like any record, and its inbox absorbs one that was applied already. If one still
cannot be decoded, it says so and changes nothing.
`dismiss` marks a row handled with the operator's reason. A row replayed or dismissed is no longer counted in the
service's `/readyz`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from aiokafka.errors import KafkaError
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import col

from shared.messaging.quarantine import covered
from shared.messaging.quarantine_records import QuarantinedRecord
from shared.messaging.record_batches import Record, Unreadable, parse, read
from shared.service_index import SERVICES
from shared.settings import ServiceSettings
from shared.timeutil import utcnow

USAGE_ERROR = 2  # what the operator asked for cannot be done: nothing changed
NOT_REPLAYED = 1  # replay: the client still cannot decode the record, or Kafka refused it; the row stays open
SHOWN_BYTES = 1024  # `show` prints this much of a batch unless told otherwise
REASON_LENGTH = 500  # the column's length


def add_parser(commands: Any) -> None:
    """`poverty quarantine ACTION --service NAME ...`."""
    quarantine = commands.add_parser(
        "quarantine",
        help="list, show, replay or dismiss the records a service's consumer could not unpack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = quarantine.add_subparsers(dest="quarantine_action", required=True, metavar="ACTION")

    def action(name: str, text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, help=text, description=text)
        parser.add_argument("--service", required=True, choices=SERVICES, help="whose database the rows are in")
        if name != "list":
            parser.add_argument("id", type=int, help="the row's id, as `list` shows it")
        return parser

    listing = action("list", "the quarantined records not yet replayed or dismissed")
    listing.add_argument("--all", action="store_true", help="also those replayed or dismissed")
    show = action("show", "a quarantined record's facts and its raw bytes")
    show.add_argument("--max-bytes", type=int, default=SHOWN_BYTES, help=f"bytes shown ({SHOWN_BYTES}; 0: all)")
    show.add_argument("--base64", action="store_true", help="the bytes as base64 instead of a hex dump")
    action("replay", "decode the record(s) again and, if they decode now, republish them to their source topic")
    dismiss = action("dismiss", "mark a quarantined record handled without replaying it")
    dismiss.add_argument("--reason", required=True, help=f"why (1-{REASON_LENGTH} characters), kept with the row")


def run(args: argparse.Namespace) -> int:
    """Run the action the arguments name on the service's database (settings from its environment)."""
    from shared.service_index import load_settings

    if args.quarantine_action == "show" and args.max_bytes < 0:
        return _refuse("--max-bytes must be 0 (all) or more")
    if args.quarantine_action == "dismiss" and not 0 < len(args.reason.strip()) <= REASON_LENGTH:
        return _refuse(f"--reason must be 1-{REASON_LENGTH} characters")
    return asyncio.run(ACTIONS[args.quarantine_action](load_settings(args.service), args))


def _refuse(message: str) -> int:
    print(f"poverty quarantine: {message}", file=sys.stderr)
    return USAGE_ERROR


@asynccontextmanager
async def _session(settings: ServiceSettings) -> AsyncIterator[AsyncSession]:
    from shared.db import create_engine

    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            yield session
    finally:
        await engine.dispose()


def listing(*, everything: bool) -> Select[tuple[QuarantinedRecord]]:
    """The rows `list` shows, without their bytes: thousands of rows may each hold a record, or a batch."""
    raw: QueryableAttribute[bytes | None] = QuarantinedRecord.raw  # type: ignore[assignment]
    query = select(QuarantinedRecord).options(defer(raw)).order_by(col(QuarantinedRecord.id))
    return query if everything else query.where(col(QuarantinedRecord.resolved_at).is_(None))


async def _list(settings: ServiceSettings, args: argparse.Namespace) -> int:
    async with _session(settings) as session:
        rows = (await session.scalars(listing(everything=args.all))).all()
    for row in rows:
        span = covered(row)
        at = f"{row.topic}:{row.partition}@{span.start}" + (f"-{span.stop - 1}" if len(span) > 1 else "")
        print(f"{row.id}\t{row.consumer}\t{at}\t{row.error_type}\t{row.quarantined_at.isoformat()}\t{_status(row)}")
    print(f"{len(rows)} quarantined record(s){'' if args.all else ' open'}", file=sys.stderr)
    return 0


async def _show(settings: ServiceSettings, args: argparse.Namespace) -> int:
    async with _session(settings) as session:
        row = await session.get(QuarantinedRecord, args.id)
    if row is None:
        return _refuse(f"no quarantined record {args.id} in {args.service}'s database")
    raw = row.raw or b""
    shown = raw if args.max_bytes == 0 else raw[: args.max_bytes]
    for name, value in (
        ("id", row.id),
        ("consumer", row.consumer),
        ("topic", row.topic),
        ("partition", row.partition),
        ("offset", row.offset),
        ("covers", row.error_where),
        ("error", row.error_type),
        ("quarantined at", row.quarantined_at.isoformat()),
        ("status", _status(row)),
    ):
        print(f"{name}: {value}")
    cut = "" if len(shown) == len(raw) else f", the first {len(shown)} shown (--max-bytes 0 shows all)"
    print(f"raw {_stored(row)} ({len(raw)} bytes{cut}):")
    print(base64.b64encode(shown).decode() if args.base64 else _hex_dump(shown))
    return 0


def _stored(row: QuarantinedRecord) -> str:
    if row.error_where.startswith("record "):
        return "record, as a batch of its own (its batch's header, uncompressed, and the record's bytes)"
    return "batch, as the broker sent it"


def _status(row: QuarantinedRecord) -> str:
    if row.resolved_at is None:
        return "open"
    return f"{row.resolution} {row.resolved_at.isoformat()}" + (f": {row.reason}" if row.reason else "")


def _hex_dump(raw: bytes) -> str:
    return "\n".join(f"{at:08x}  {raw[at : at + 16].hex(' ')}" for at in range(0, len(raw), 16))


async def _replay(settings: ServiceSettings, args: argparse.Namespace) -> int:
    async with _session(settings) as session:
        row = await _open_row(session, args)
        if row is None:
            return USAGE_ERROR
        records = _decoded(row)
        if isinstance(records, Unreadable):
            print(f"record {records.first} still cannot be read ({type(records.error).__name__}): nothing replayed")
            return NOT_REPLAYED
        try:
            await _publish(settings, row.topic, row.partition, records)
        except KafkaError as exc:  # the row stays open: a replay that published some records may be run again
            print(f"could not publish to {row.topic} ({type(exc).__name__}): the record stays quarantined")
            return NOT_REPLAYED
        _resolve(row, "replayed", f"republished {len(records)} record(s) to {row.topic}")
        await session.commit()
    print(f"replayed {len(records)} record(s) to {row.topic}")
    return 0


def _decoded(row: QuarantinedRecord) -> list[Record] | Unreadable:
    """The row's records as the client decodes them now, or the first that still cannot be."""
    try:
        entries = read(parse(row.raw or b""))
    except ValueError as exc:
        return Unreadable(row.offset, row.offset, exc, whole_batch=True)
    offsets = covered(row)
    wanted = [entry for entry in entries if _within(entry, offsets)]
    unreadable = next((entry for entry in wanted if isinstance(entry, Unreadable)), None)
    return unreadable or [entry for entry in wanted if isinstance(entry, Record)]


def _within(entry: Record | Unreadable, offsets: range) -> bool:
    first, last = (entry.offset, entry.offset) if isinstance(entry, Record) else (entry.first, entry.last)
    return first <= offsets[-1] and last >= offsets[0]


async def _publish(settings: ServiceSettings, topic: str, partition: int, records: list[Record]) -> None:
    """Put the records back on the partition they came from: a record without a key would otherwise land on any
    partition, out of order with its neighbours."""
    from shared.messaging.kafka import make_producer

    producer = make_producer(
        settings.kafka_bootstrap_servers, client_id="quarantine-replay", security=settings.kafka_security()
    )
    await producer.start()
    try:
        sent = [
            await producer.send(topic, r.value, key=r.key, headers=list(r.headers), partition=partition)
            for r in records
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _dismiss(settings: ServiceSettings, args: argparse.Namespace) -> int:
    async with _session(settings) as session:
        row = await _open_row(session, args)
        if row is None:
            return USAGE_ERROR
        _resolve(row, "dismissed", args.reason.strip())
        await session.commit()
    print(f"dismissed quarantined record {args.id}")
    return 0


async def _open_row(session: AsyncSession, args: argparse.Namespace) -> QuarantinedRecord | None:
    """The row to act on, locked while the action runs; None (said why) when there is none or it is done with."""
    row = await session.get(QuarantinedRecord, args.id, with_for_update=True)
    if row is None:
        _refuse(f"no quarantined record {args.id} in {args.service}'s database")
        return None
    if row.resolved_at is not None:
        _refuse(f"quarantined record {args.id} was {row.resolution} already ({_status(row)})")
        return None
    return row


def _resolve(row: QuarantinedRecord, resolution: str, reason: str) -> None:
    row.resolved_at, row.resolution, row.reason = utcnow(), resolution, reason


ACTIONS: dict[str, Callable[[ServiceSettings, argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "list": _list,
    "show": _show,
    "replay": _replay,
    "dismiss": _dismiss,
}
