"""The table of records the Kafka client could not unpack, kept with their raw bytes (`shared.messaging.quarantine`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.timeutil import UTCDateTime


class QuarantinedRecord(SQLModel, table=True):
    """One record a consumer could not decode: where it was, what it was (raw bytes), why, and what became of it."""

    __tablename__ = "quarantined_record"
    __table_args__ = (
        UniqueConstraint("consumer", "topic", "partition", "offset", name="uq_quarantined_record_position"),
        Index("ix_quarantined_record_open", "resolved_at"),
    )

    # SQLite numbers only an INTEGER primary key by itself (its rowid): BIGINT elsewhere.
    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    consumer: str = Field(max_length=100)
    topic: str = Field(max_length=249)
    partition: int
    offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    raw: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    error_type: str = Field(max_length=200)
    error_where: str = Field(max_length=500)
    quarantined_at: datetime = Field(sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution: str | None = Field(default=None, max_length=20)  # replayed or dismissed
    reason: str | None = Field(default=None, max_length=500)
