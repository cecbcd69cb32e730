"""Tables of the subsidies service: payments (补贴发放), income allocations and the facts they rest on."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import BigInteger, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from shared.timeutil import UTCDateTime


class EligibleHousehold(SQLModel, table=True):
    """A registered household (建档立卡户) as subsidies knows it (read model fed by `households.events`)."""

    household_id: UUID = Field(primary_key=True)
    area_code: str = Field(max_length=12, index=True)
    member_count: int
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AddedMember(SQLModel, table=True):
    """A member added to a household after its registration (read model fed by `MemberAdded`).

    Kept by member id so that a MemberAdded re-sent under a new event id is counted once.
    """

    member_id: UUID = Field(primary_key=True)
    household_id: UUID = Field(index=True)


class ProjectArea(SQLModel, table=True):
    """Where an industrial project is (read model fed by `projects.events`), to know who shares its income."""

    project_id: UUID = Field(primary_key=True)
    area_code: str = Field(max_length=12)


class IncomeStatus(StrEnum):
    DISTRIBUTED = "distributed"  # shared out among the township's households (收益分配)
    UNDISTRIBUTED = "undistributed"  # no registered household in the township yet: waits for the finance office


class IncomeReceipt(SQLModel, table=True):
    """A project's income as received from `projects.events`, whether or not it could be shared out yet."""

    income_id: UUID = Field(primary_key=True)
    project_id: UUID = Field(index=True)
    period: str = Field(max_length=7)
    amount_fen: int = Field(sa_type=BigInteger)
    status: str = Field(max_length=20, index=True)
    household_count: int = Field(default=0, description="households that received a share")
    received_at: datetime = Field(sa_type=UTCDateTime)
    distributed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IncomeAllocation(SQLModel, table=True):
    """One household's share of a project's income (收益分配), with the member count it was based on."""

    __table_args__ = (UniqueConstraint("income_id", "household_id", name="uq_incomeallocation_income_household"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    income_id: UUID = Field(index=True)
    project_id: UUID = Field(index=True)
    household_id: UUID = Field(index=True)
    period: str = Field(max_length=7)
    amount_fen: int = Field(sa_type=BigInteger)
    member_count: int
    allocated_at: datetime = Field(sa_type=UTCDateTime)


class Payment(SQLModel, table=True):
    """A subsidy paid to a household (补贴发放): once per policy and period, with the facts it rests on."""

    __table_args__ = (
        UniqueConstraint("household_id", "policy_code", "period", name="uq_payment_household_policy_period"),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    household_id: UUID = Field(index=True)
    policy_code: str = Field(max_length=60)
    period: str = Field(max_length=7)
    amount_fen: int = Field(sa_type=BigInteger)
    idempotency_key: str = Field(max_length=100, unique=True)
    member_count: int = Field(description="snapshot: members when the payment was decided")
    area_code: str = Field(max_length=12, description="snapshot: the household's area when it was decided")
    paid_by: str = Field(max_length=100)
    paid_at: datetime = Field(sa_type=UTCDateTime)


class Entitlement(SQLModel, table=True):
    """A policy a household or one of its members is entitled to (享受政策资格) from `starts_on`, until `ends_on`
    (exclusive) when a fact ended it (低保 withdrawn, a pupil who left school), from `households.events`.

    A coverage check judges a month by the entitlements held on any of its days. `member_id` is None for a
    household's policy (低保, 特困供养). PostgreSQL and SQLite treat NULLs as distinct, so the unique index of open
    entitlements guards members' rows; a household's rows are kept unique by the handlers, which see one
    household's events in order.
    """

    __table_args__ = (
        Index(
            "uq_entitlement_open",
            "household_id",
            "member_id",
            "policy_code",
            unique=True,
            postgresql_where=text("ends_on IS NULL"),
            sqlite_where=text("ends_on IS NULL"),
        ),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    household_id: UUID = Field(index=True)
    member_id: UUID | None = Field(default=None)
    policy_code: str = Field(max_length=60, index=True)
    starts_on: date
    ends_on: date | None = None
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class CoverageCheck(SQLModel, table=True):
    """A subsidy coverage check (政策落实覆盖核查): who was entitled to a policy in an area, and who went unpaid."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    policy_code: str = Field(max_length=60)
    period: str = Field(max_length=7)
    area_code: str | None = Field(default=None, max_length=12, description="the scope checked; None: the district")
    checked_by: str = Field(max_length=100)
    checked_at: datetime = Field(sa_type=UTCDateTime)
    entitled_count: int
    gap_count: int


class CoverageGap(SQLModel, table=True):
    """One entitlement a coverage check found unpaid, as it stood when the check ran."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    check_id: UUID = Field(foreign_key="coveragecheck.id", index=True)
    household_id: UUID
    member_id: UUID | None = Field(default=None)
    area_code: str = Field(max_length=12, description="snapshot: the household's area when the check ran")
