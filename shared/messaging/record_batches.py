"""Kafka record batches as the broker stores them, read record by record so one unreadable record spoils no other.

aiokafka decodes a whole batch at once and gives up at its first record it cannot read (a header key that is not
UTF-8), or on the whole batch (a codec not installed, a CRC that does not match): the records after it in that batch
can then never be read through it. Here the raw batch is read with the client's own decoder one record at a time:
each record the client can decode comes out as it would have, and what it cannot is an `Unreadable` span, one record
long, or the rest of the batch when the batch as a whole cannot be opened (its checksum, its codec, its layout). A
single unreadable record comes with its own bytes as a batch of its own (`Unreadable.alone`: a copy of its batch's
header, uncompressed, counting that one record, checksummed again): what is kept of it holds nothing of its
neighbours, and the client reads it as it read the original.
Only the v2 batch format exists on the brokers the platform runs (Kafka 3): any other is unreadable as a whole.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from aiokafka import codec
from aiokafka.errors import CorruptRecordException, UnsupportedCodecError
from aiokafka.record.default_records import DefaultRecordBatch
from aiokafka.record.util import calc_crc32c, decode_varint

# BaseOffset, Length, PartitionLeaderEpoch, Magic, CRC, Attributes, LastOffsetDelta, FirstTimestamp, MaxTimestamp,
# ProducerId, ProducerEpoch, BaseSequence, RecordCount.
HEADER = struct.Struct(">qiibIhiqqqhii")
LOG_OVERHEAD = 12  # BaseOffset and Length, before what Length counts
LENGTH_AT, CRC_AT, ATTRIBUTES_AT, COUNT_AT = 8, 17, 21, 57
CODEC_MASK, TRANSACTIONAL, CONTROL = 0x07, 0x10, 0x20
CODECS = {1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}  # aiokafka.codec names them: has_<name>, <name>_decode


@dataclass(frozen=True)
class RawBatch:
    """One record batch, its bytes exactly as the broker sent them."""

    raw: bytes
    base_offset: int
    last_offset: int
    magic: int
    attributes: int
    producer_id: int
    record_count: int

    @property
    def next_offset(self) -> int:
        return self.last_offset + 1

    @property
    def codec(self) -> str:
        compression = self.attributes & CODEC_MASK
        return "none" if not compression else CODECS.get(compression, f"#{compression}")

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL)

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL)

    def describe(self) -> str:
        """What an operator needs to place the batch: its offsets, size and codec (never its content)."""
        return (
            f"batch {self.base_offset}-{self.last_offset} ({self.record_count} records, {len(self.raw)} bytes, "
            f"codec {self.codec})"
        )


@dataclass(frozen=True)
class Record:
    """A record the client decoded."""

    offset: int
    timestamp: int
    timestamp_type: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]


@dataclass(frozen=True)
class Unreadable:
    """Offsets `first`..`last` of a batch that the client cannot decode, and why; `alone`, a single record's own
    bytes as a batch of one record (None for a span the batch's layout or codec leaves undivided)."""

    first: int
    last: int
    error: Exception
    whole_batch: bool
    alone: bytes | None = None


def split(message_set: bytes) -> list[RawBatch]:
    """The complete batches of a fetch's records (a fetch may end in a partial batch: it is left out)."""
    batches: list[RawBatch] = []
    position = 0
    while len(message_set) - position >= HEADER.size:
        length = struct.unpack_from(">i", message_set, position + LENGTH_AT)[0]
        end = position + LOG_OVERHEAD + length
        if length < HEADER.size - LOG_OVERHEAD or end > len(message_set):
            break
        fields = HEADER.unpack_from(message_set, position)
        raw = bytes(message_set[position:end])
        batches.append(RawBatch(raw, fields[0], fields[0] + fields[6], fields[3], fields[5], fields[9], fields[12]))
        position = end
    return batches


def parse(raw: bytes) -> RawBatch:
    """One stored batch's bytes, as `split` found them; ValueError when they are not one whole batch."""
    batches = split(raw)
    if len(batches) != 1 or len(batches[0].raw) != len(raw):
        raise ValueError("not one whole record batch")
    return batches[0]


def read(batch: RawBatch) -> list[Record | Unreadable]:
    """The batch's records in offset order, each as the client decodes it or as an `Unreadable` span."""
    if batch.magic != 2:
        return [_whole(batch, CorruptRecordException("message format older than v2"))]
    if not DefaultRecordBatch(batch.raw).validate_crc():
        return [_whole(batch, CorruptRecordException("CRC does not match"))]
    try:
        return [_record(record) for record in DefaultRecordBatch(batch.raw)]  # the usual case: the client reads all
    except Exception:  # a record or the codec failed: find out which, one record at a time
        return _read_one_by_one(batch)


def _whole(batch: RawBatch, error: Exception) -> Unreadable:
    return Unreadable(batch.base_offset, batch.last_offset, error, whole_batch=True)


def _records_section(batch: RawBatch) -> bytes:
    """The records' bytes, decompressed with the client's codecs."""
    section = batch.raw[HEADER.size :]
    compression = batch.attributes & CODEC_MASK
    if compression == 0:
        return section
    if compression not in CODECS:
        raise UnsupportedCodecError(f"unknown compression codec {compression:#04x}")
    name = CODECS[compression]  # looked up now: a codec installed since start-up is found
    if not getattr(codec, f"has_{name}")():
        raise UnsupportedCodecError(f"libraries for {name} compression codec not found")
    return bytes(getattr(codec, f"{name}_decode")(section))


def _read_one_by_one(batch: RawBatch) -> list[Record | Unreadable]:
    try:
        section = _records_section(batch)
    except Exception as exc:
        return [_whole(batch, exc)]
    entries: list[Record | Unreadable] = []
    position, offset = 0, batch.base_offset - 1
    for _ in range(batch.record_count):
        try:
            length, start = decode_varint(bytearray(section), position)
            if length < 0 or start + length > len(section):
                raise CorruptRecordException("record runs past its batch")
            offset = batch.base_offset + _offset_delta(section, start)
        except Exception as exc:  # the records' layout is lost from here: the rest of the batch is one span
            entries.append(Unreadable(offset + 1, batch.last_offset, exc, whole_batch=offset < batch.base_offset))
            return entries
        entries.append(_decode_alone(batch, section[position : start + length], offset))
        position = start + length
    return entries


def _offset_delta(section: bytes, start: int) -> int:
    buffer = bytearray(section)
    _, position = decode_varint(buffer, start)  # attributes
    _, position = decode_varint(buffer, position)  # timestamp delta
    delta: int = decode_varint(buffer, position)[0]
    return delta


def _decode_alone(batch: RawBatch, record: bytes, offset: int) -> Record | Unreadable:
    """One record decoded by the client, as the only record of an uncompressed copy of its batch's header."""
    alone = one_record_batch(batch, record)
    try:
        decoded = [_record(r) for r in DefaultRecordBatch(alone)]
    except Exception as exc:
        return Unreadable(offset, offset, exc, whole_batch=False, alone=alone)
    return decoded[0]


def one_record_batch(batch: RawBatch, record: bytes) -> bytes:
    """A valid batch holding `record` (its bytes as stored, offset delta and all) under a copy of `batch`'s header,
    uncompressed and counting one record."""
    header = bytearray(batch.raw[: HEADER.size])
    struct.pack_into(">i", header, LENGTH_AT, HEADER.size - LOG_OVERHEAD + len(record))
    struct.pack_into(">h", header, ATTRIBUTES_AT, batch.attributes & ~CODEC_MASK)
    struct.pack_into(">i", header, COUNT_AT, 1)
    alone = header + record
    struct.pack_into(">I", alone, CRC_AT, calc_crc32c(bytes(alone[ATTRIBUTES_AT:])))
    return bytes(alone)


def _record(record: Any) -> Record:  # the client's record, C or pure Python
    return Record(
        record.offset, record.timestamp, record.timestamp_type, record.key, record.value, tuple(record.headers)
    )
