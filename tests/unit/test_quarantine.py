"""The quarantine's pure parts, on record batches built here: reading a batch record by record, what a partition's
unreadable stretch gives, the rows' facts; and the readiness detail and `poverty quarantine` on a SQLite database."""

from __future__ import annotations

import asyncio
import base64
import struct
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiokafka.codec
import pytest
from aiokafka import TopicPartition
from aiokafka.record.default_records import DefaultRecordBatchBuilder, _DefaultRecordBatchBuilderPy
from aiokafka.record.util import calc_crc32c
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.cli import main
from shared.db import create_engine
from shared.messaging.quarantine import Salvage, _committed, covered, keep, open_count, salvage, where
from shared.messaging.quarantine_records import QuarantinedRecord
from shared.messaging.record_batches import RawBatch, Record, Unreadable, parse, read, split
from shared.quarantine_cli import listing
from tests.support import running_app

TP = TopicPartition("households.events", 0)
NOT_UTF8 = b"\xff\xfe"


class RawKey(str):
    """A header key that encodes to the bytes given, as a client in another language may write it."""

    raw: bytes

    def __new__(cls, raw: bytes) -> RawKey:
        key = super().__new__(cls, "key")
        key.raw = raw
        return key

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return self.raw


def batch(*keys: bytes, base: int = 0, codec: int = 0, producer: int = -1, transactional: bool = False) -> bytes:
    """A v2 batch of one record per header key (each record's only header), as a broker stores it; the client's
    pure-Python builder, which encodes a header key by calling its `encode`."""
    builder = _DefaultRecordBatchBuilderPy(
        magic=2,
        compression_type=codec,
        is_transactional=int(transactional),
        producer_id=producer,
        producer_epoch=0 if producer >= 0 else -1,
        base_sequence=0 if producer >= 0 else -1,
        batch_size=1 << 20,
    )
    for n, key in enumerate(keys):
        value = b"v%d" % n + b"." * 200  # long enough for a codec to pay: else the builder sends it uncompressed
        builder.append(n, timestamp=1_000 + n, key=b"k%d" % n, value=value, headers=[(RawKey(key), b"x")])
    raw = bytearray(builder.build())
    struct.pack_into(">q", raw, 0, base)
    return bytes(_checksummed(raw))


def _checksummed(raw: bytearray) -> bytearray:
    struct.pack_into(">I", raw, 17, calc_crc32c(bytes(raw[21:])))
    return raw


def facts(entries: list[Record | Unreadable]) -> list[tuple[str, int, int]]:
    return [
        ("record", e.offset, e.offset) if isinstance(e, Record) else ("unreadable", e.first, e.last) for e in entries
    ]


def test_a_readable_batch_reads_as_the_client_reads_it() -> None:
    entries = read(parse(batch(b"ce_id", b"ce_type", base=7)))
    assert facts(entries) == [("record", 7, 7), ("record", 8, 8)]
    assert isinstance(entries[0], Record) and entries[0].headers == (("ce_id", b"x"),) and entries[0].key == b"k0"


def test_a_header_key_not_utf8_spoils_only_its_record() -> None:
    entries = read(parse(batch(b"ok", NOT_UTF8, b"ok", NOT_UTF8, base=10)))
    assert facts(entries) == [("record", 10, 10), ("unreadable", 11, 11), ("record", 12, 12), ("unreadable", 13, 13)]
    assert isinstance(entries[1], Unreadable) and type(entries[1].error).__name__ == "UnicodeDecodeError"
    assert not entries[1].whole_batch


def test_a_compressed_batch_with_an_unreadable_record_is_read_record_by_record() -> None:
    entries = read(parse(batch(b"ok", NOT_UTF8, b"ok", codec=1)))  # gzip
    assert facts(entries) == [("record", 0, 0), ("unreadable", 1, 1), ("record", 2, 2)]


def test_a_batch_whose_codec_is_not_installed_is_unreadable_as_a_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = batch(b"ok", b"ok", b"ok", base=4, codec=4)  # zstd
    monkeypatch.setattr(aiokafka.codec, "has_zstd", lambda: False)
    [entry] = read(parse(raw))
    assert isinstance(entry, Unreadable) and (entry.first, entry.last, entry.whole_batch) == (4, 6, True)
    assert type(entry.error).__name__ == "UnsupportedCodecError"
    monkeypatch.undo()  # installed: every record reads again
    assert facts(read(parse(raw))) == [("record", 4, 4), ("record", 5, 5), ("record", 6, 6)]


def test_an_unknown_codec_a_bad_crc_and_a_broken_layout_are_unreadable() -> None:
    unknown = bytearray(batch(b"ok", b"ok"))
    struct.pack_into(">h", unknown, 21, 5)  # codec 5: none such
    [entry] = read(parse(bytes(_checksummed(unknown))))
    assert isinstance(entry, Unreadable) and entry.whole_batch and "codec #5" in parse(bytes(unknown)).describe()

    flipped = bytearray(batch(b"ok", b"ok"))
    flipped[-1] ^= 0xFF  # not checksummed again: as a bit flipped on a disk
    [entry] = read(parse(bytes(flipped)))
    assert isinstance(entry, Unreadable) and type(entry.error).__name__ == "CorruptRecordException"

    truncated = bytearray(batch(b"ok", b"ok", b"ok", base=20))
    struct.pack_into(">i", truncated, 57, 4)  # four records announced, three there
    entries = read(parse(bytes(_checksummed(truncated))))
    assert facts(entries) == [("record", 20, 20), ("record", 21, 21), ("record", 22, 22), ("unreadable", 23, 22)]


def test_split_keeps_whole_batches_only() -> None:
    first, second = batch(b"ok", base=0), batch(b"ok", b"ok", base=1)
    assert [(b.base_offset, b.last_offset) for b in split(first + second + second[:30])] == [(0, 0), (1, 2)]
    with pytest.raises(ValueError, match="not one whole record batch"):
        parse(first + second)


def test_salvage_keeps_the_unreadable_run_at_the_front_and_hands_back_the_readable_run_after_it() -> None:
    batches = split(batch(b"ok", NOT_UTF8, NOT_UTF8, b"ok", b"ok", NOT_UTF8, b"ok", base=100))
    first = salvage(TP, batches, 101)
    assert first is not None and [(u.first, u.last) for u in first.kept] == [(101, 101), (102, 102)]
    assert (first.past_kept, [r.offset for r in first.records], first.resume_at) == (103, [103, 104], 105)
    assert first.records[0].topic == TP.topic and first.records[0].headers == (("ok", b"x"),)
    then = salvage(TP, batches, 105)
    assert then is not None and [u.first for u in then.kept] == [105] and (then.past_kept, then.resume_at) == (106, 107)
    readable_first = salvage(TP, batches, 103)  # the stretch starts readable: nothing kept, up to the next one
    assert readable_first is not None and not readable_first.kept
    assert ([r.offset for r in readable_first.records], readable_first.resume_at) == ([103, 104], 105)
    assert salvage(TP, batches, 107) is None


def test_a_whole_batch_is_kept_from_the_offset_asked() -> None:
    raw = bytearray(batch(b"ok", b"ok", b"ok", base=10))
    raw[-1] ^= 0xFF
    salvaged = salvage(TP, split(bytes(raw)), 11)
    assert isinstance(salvaged, Salvage) and [(u.first, u.last) for u in salvaged.kept] == [(11, 12)]
    assert (salvaged.past_kept, salvaged.records, salvaged.resume_at) == (13, [], 13)
    [kept] = salvaged.kept
    assert where(kept.batch, kept.span).startswith("offsets 11-12, the batch as a whole, of batch 10-12")
    assert kept.raw == bytes(raw)  # the batch as the broker sent it: its records cannot be told apart


def test_a_run_of_unreadable_records_is_kept_in_one_round_however_many_batches_it_spans() -> None:
    raw = batch(NOT_UTF8, base=0) + batch(NOT_UTF8, base=1) + batch(NOT_UTF8, b"ok", b"ok", NOT_UTF8, base=2)
    salvaged = salvage(TP, split(raw + batch(b"ok", base=6)), 0)
    assert salvaged is not None and [(u.first, u.last) for u in salvaged.kept] == [(0, 0), (1, 1), (2, 2)]
    assert (salvaged.past_kept, [r.offset for r in salvaged.records], salvaged.resume_at) == (3, [3, 4], 5)
    to_the_end = salvage(TP, split(raw[: len(raw) - len(batch(NOT_UTF8, b"ok", b"ok", NOT_UTF8, base=2))]), 0)
    assert to_the_end is not None and [u.first for u in to_the_end.kept] == [0, 1]
    assert (to_the_end.past_kept, to_the_end.records, to_the_end.resume_at) == (2, [], 2)


def test_an_unreadable_record_is_kept_with_its_own_bytes_and_no_other_records() -> None:
    keys = [NOT_UTF8 if n % 2 else b"ok" for n in range(40)]
    raw = batch(*keys, base=1000, codec=1)  # gzip: the records' bytes are kept uncompressed, each alone
    salvaged = salvage(TP, split(raw), 1001)
    assert salvaged is not None and [u.first for u in salvaged.kept] == [1001]
    [kept] = salvaged.kept
    alone = parse(kept.raw)
    assert (alone.base_offset, alone.record_count, alone.codec) == (1000, 1, "none")
    assert b"v1." in kept.raw and b"v0." not in kept.raw and b"v2." not in kept.raw
    assert facts(read(alone)) == [("unreadable", 1001, 1001)]  # the client reads it as it read the original
    every = [salvage(TP, split(raw), offset) for offset in range(1001, 1040, 2)]
    stored = sum(len(k.raw) for s in every if s is not None for k in s.kept)
    assert stored < len(batch(*keys, base=1000)) // 2 + 20 * 100  # each record's bytes once, not the batch each time


def test_aborted_transactions_and_control_batches_are_not_read() -> None:
    aborted = split(batch(NOT_UTF8, base=0, producer=7, transactional=True))[0]
    marker = _control(base=1, producer=7, abort=True)
    committed = split(batch(b"ok", base=2, producer=7, transactional=True))[0]
    kept = _committed([aborted, marker, committed], aborted=[(7, 0)])
    assert [b.base_offset for b in kept] == [2]


def _control(*, base: int, producer: int, abort: bool) -> RawBatch:
    builder = DefaultRecordBatchBuilder(2, 0, 1, producer, 0, 0, 1 << 20)
    builder.append(
        0, timestamp=1, key=struct.pack(">hh", 0, 0 if abort else 1), value=b"\x00\x00\x00\x00\x00\x00", headers=[]
    )
    raw = bytearray(builder.build())
    struct.pack_into(">q", raw, 0, base)
    struct.pack_into(">h", raw, 21, 0x30)  # transactional, control
    return parse(bytes(_checksummed(raw)))


def test_a_rows_offsets_read_back_from_its_where() -> None:
    one = split(batch(b"ok", NOT_UTF8, base=5))[0]
    row = _row(offset=6, where=where(one, Unreadable(6, 6, ValueError(), whole_batch=False)))
    assert row.error_where == f"record 6 of batch 5-6 (2 records, {len(one.raw)} bytes, codec none)"
    assert covered(row) == range(6, 7)
    assert covered(_row(offset=6, where=where(one, Unreadable(6, 9, ValueError(), whole_batch=True)))) == range(6, 10)


def _row(*, offset: int, where: str, raw: bytes = b"") -> QuarantinedRecord:
    return QuarantinedRecord(
        consumer="audit",
        topic=TP.topic,
        partition=0,
        offset=offset,
        raw=raw,
        error_type="UnicodeDecodeError",
        error_where=where,
        quarantined_at=datetime(2026, 12, 6, tzinfo=UTC),
    )


async def test_thousands_of_unreadable_records_of_one_batch_are_kept_in_one_transaction(
    sqlite_url: Callable[[str], Awaitable[str]],
) -> None:
    """More rows than one statement may carry values for (8 a row: asyncpg takes 32,767, so 4,095 rows at most;
    SQLite as built here takes more, so each statement's values are counted)."""
    salvaged = salvage(TP, split(batch(*[NOT_UTF8] * 4200, base=0)), 0)
    assert salvaged is not None and len(salvaged.kept) == 4200
    engine = create_engine(await sqlite_url("audit"))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    values: list[int] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def count_values(_: Any, __: Any, statement: str, parameters: Any, *___: Any) -> None:
        if statement.startswith("INSERT INTO quarantined_record"):
            values.append(len(parameters))

    try:
        now = datetime(2026, 12, 6, tzinfo=UTC)
        assert await keep(sessions, consumer="audit", tp=TP, salvaged=salvaged, now=now) == 4200
        assert await keep(sessions, consumer="audit", tp=TP, salvaged=salvaged, now=now) == 0  # read again: kept once
        async with sessions() as session:
            assert await open_count(session) == 4200
        assert max(values) <= 32_767 and sum(values) == 2 * 4200 * 8
    finally:
        await engine.dispose()


def test_list_never_reads_the_raw_bytes() -> None:
    for everything in (True, False):
        selected = listing(everything=everything).compile()
        assert "quarantined_record.raw" not in str(selected) and "quarantined_record.error_where" in str(selected)


async def test_readiness_shows_the_quarantined_records_not_yet_handled(
    sqlite_url: Callable[[str], Awaitable[str]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = await sqlite_url("audit")
    raw = batch(b"ok", NOT_UTF8, base=5)
    engine = create_engine(url)
    async with AsyncSession(engine) as session:
        session.add(_row(offset=6, where=where(parse(raw), Unreadable(6, 6, ValueError(), False)), raw=raw))
        session.add(_row(offset=9, where="record 9 of batch 9-9 (1 records, 80 bytes, codec none)", raw=raw))
        await session.commit()
    await engine.dispose()
    async with running_app("audit", url) as (_, client):
        assert (await client.get("/readyz")).json()["quarantined_records"] == 2

    monkeypatch.setenv("AUDIT_DATABASE_URL", url)
    capsys.readouterr()
    assert await poverty("show", "1", "--max-bytes", "16") == 0
    shown = capsys.readouterr().out
    assert "covers: record 6 of batch 5-6" in shown and "the first 16 shown" in shown
    assert shown.rstrip().endswith(raw[:16].hex(" "))
    assert await poverty("show", "1", "--max-bytes", "0", "--base64") == 0
    assert capsys.readouterr().out.rstrip().endswith(base64.b64encode(raw).decode())
    assert await poverty("replay", "1") == 1  # still unreadable: said so before any broker is needed
    assert await poverty("dismiss", "2", "--reason", " a test record ") == 0
    assert await poverty("dismiss", "2", "--reason", "again") == 2
    capsys.readouterr()
    assert await poverty("list", "--all") == 0
    listed = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [(line[0], line[2], line[-1].split(" ")[0]) for line in listed] == [
        ("1", f"{TP.topic}:0@6", "open"),
        ("2", f"{TP.topic}:0@9", "dismissed"),
    ]
    assert listed[1][-1].endswith(": a test record")

    async with running_app("audit", url) as (_, client):
        ready: dict[str, Any] = (await client.get("/readyz")).json()
    assert ready["status"] == "ready" and ready["quarantined_records"] == 1


async def poverty(*argv: str) -> int:
    return await asyncio.to_thread(main, ["quarantine", *argv, "--service", "audit"])
