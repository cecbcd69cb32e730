"""The table of creates made with an `Idempotency-Key` (`shared.api.idempotency`), purged by retention."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from shared.timeutil import UTCDateTime


class IdempotentRequest(SQLModel, table=True):
    """A create made with an `Idempotency-Key`, and the response it gave."""

    __tablename__ = "idempotent_request"
    __table_args__ = (Index("ix_idempotent_request_created_at", "created_at"),)

    caller: str = Field(primary_key=True, max_length=100)
    operation: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=100)
    request_hash: str = Field(max_length=64)
    response_body: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_type=UTCDateTime)
