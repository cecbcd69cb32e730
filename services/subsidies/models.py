"""Tables of the subsidies service: payments (补贴发放), the cycles and catalogue that decide them, and the facts they
rest on."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, BigInteger, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from shared.ids import uuid7
from shared.timeutil import UTCDateTime


class HouseholdFacts(SQLModel, table=True):
    """A registered household (建档立卡户) as subsidies knows it now, kept from `households.events`: its area, its
    living members and its facts' latest values (each with the one before it and its day, for reading). Eligibility
    is judged on `FactChange`, the facts' dated history, as of a period's first day."""

    household_id: UUID = Field(primary_key=True)
    area_code: str = Field(max_length=12, index=True)
    member_count: int
    status: str = Field(default="in_poverty", max_length=30, description="脱贫状态 (HouseholdStatus)")
    status_since: date | None = None
    previous_status: str | None = Field(default=None, max_length=30)
    allowance: str = Field(default="none", max_length=20, description="低保 / 特困供养 (MinimumAllowance)")
    allowance_since: date | None = None
    previous_allowance: str | None = Field(default=None, max_length=20)
    housing_grade: str | None = Field(default=None, max_length=1, description="危房 appraisal grade A-D")
    monitoring_open: bool = False
    risk_kinds: list[str] = Field(default_factory=list, sa_type=JSON, description="flags of the open episode")
    updated_at: datetime = Field(sa_type=UTCDateTime)


class MemberFacts(SQLModel, table=True):
    """A member of a registered household as subsidies knows them now (the dated member facts are in `FactChange`).

    Only masked forms of the name and ID number are kept (for the public notice, 公示); never the number itself.
    """

    member_id: UUID = Field(primary_key=True)
    household_id: UUID = Field(index=True)
    relationship_to_head: str | None = Field(default=None, max_length=30)
    birth_date: date | None = None
    name_masked: str | None = Field(default=None, max_length=100)
    id_masked: str | None = Field(default=None, max_length=18)
    disability_grade: int | None = None
    enrolment: str | None = Field(default=None, max_length=20)
    school_stage: str | None = Field(default=None, max_length=20)
    medical_insured: bool | None = None
    premium_subsidised: bool | None = None
    died_on: date | None = None


class FactChange(SQLModel, table=True):
    """One dated change of a fact eligibility rules read (`rules/fact_history.py`): a household's or a member's
    (`holder_key` "-" or the member's id) fact holds `value` from `since` on. A fact's value on a period's first day
    is its latest change's on or before that day; a change arriving late takes its place by its date."""

    household_id: UUID = Field(primary_key=True)
    holder_key: str = Field(primary_key=True, max_length=36)
    fact: str = Field(primary_key=True, max_length=100)
    since: date = Field(primary_key=True)
    member_id: UUID | None = None
    value: Any = Field(default=None, sa_type=JSON)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


# --- The programme catalogue (政策目录), versioned -------------------------------------------------------------


class Programme(SQLModel, table=True):
    """A subsidy programme of the catalogue (政策目录): what it is, per whom, how often, paid from which fund.

    What it pays and to whom lives in its versions: a new standard is a new `ProgrammeVersion`.
    """

    code: str = Field(primary_key=True, max_length=60, description="a PolicyCode value")
    name: str = Field(max_length=100)
    unit: str = Field(max_length=20, description="ProgrammeUnit: per household or per member")
    frequency: str = Field(max_length=20, description="Frequency: monthly, termly, yearly, one_off")
    funding_source: str = Field(max_length=100, description="资金来源")
    decided_by: str = Field(
        default="catalogue",
        max_length=20,
        sa_column_kwargs={"server_default": "catalogue"},
        description="DecidedBy: the catalogue's rule, or projects' approved plans and payrolls (never computed here)",
    )
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ProgrammeVersion(SQLModel, table=True):
    """One standard of a programme, in force from `effective_from` until the next version's: the amount and the
    eligibility rule (a list of conditions, all of which must hold; see `rules/eligibility.py`). Never changed once
    written; every entitlement and payment names the version it used. The versions are the change history."""

    __table_args__ = (UniqueConstraint("programme_code", "version", name="uq_programmeversion_code_version"),)

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    programme_code: str = Field(max_length=60, index=True)
    version: int
    effective_from: date
    amount_fen: int = Field(sa_type=BigInteger, description="per unit and period")
    per_member: bool = Field(default=False, description="a household programme's amount is per living member")
    rule: list[dict[str, Any]] = Field(sa_type=JSON, description="the eligibility conditions, all must hold")
    reason: str = Field(max_length=500)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ProgrammeFund(SQLModel, table=True):
    """Money allocated to a programme for a year (资金下达): a cycle cannot be approved over what is left."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    programme_code: str = Field(max_length=60, index=True)
    year: int
    amount_fen: int = Field(sa_type=BigInteger)
    source: str = Field(max_length=200, description="the allocation document (文号)")
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


# --- Cycles and their entitlement lists -----------------------------------------------------------------------


class Cycle(SQLModel, table=True):
    """A programme's disbursement for one period (发放批次/周期): draft -> computed -> on_notice (公示) ->
    submitted -> approved -> paid -> closed (CycleStatus). A cycle of projects' order (an approved distribution plan
    or payroll, `origin` projects) is approved when it is made, its id the plan's or the payroll's.

    One cycle per programme, period and `order_ref` (the plan's id for a plan's cycle; "" for the catalogue's cycles
    and payrolls): one catalogue cycle and one payroll a month, as many plans as were approved."""

    __table_args__ = (UniqueConstraint("programme_code", "period", "order_ref", name="uq_cycle_programme_period"),)

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    programme_code: str = Field(max_length=60, index=True)
    period: str = Field(max_length=7, description="YYYY-MM, YYYY-S1/S2 (terms) or YYYY, by the frequency")
    origin: str = Field(
        default="catalogue", max_length=20, sa_column_kwargs={"server_default": "catalogue"}, description="DecidedBy"
    )
    order_ref: str = Field(
        default="", max_length=36, sa_column_kwargs={"server_default": ""}, description="a plan's id, else empty"
    )
    version_id: UUID | None = Field(default=None, description="the programme version the list was computed with")
    status: str = Field(max_length=20, index=True)
    entitled_count: int = 0
    total_fen: int = Field(default=0, sa_type=BigInteger)
    notice_starts_on: date | None = None
    notice_ends_on: date | None = Field(default=None, description="the last day of the objection window")
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    computed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    computed_by: str | None = Field(default=None, max_length=100, description="who last computed the list")
    submitted_by: str | None = Field(default=None, max_length=100)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by: str | None = Field(default=None, max_length=100)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime, description="when its list was all paid")
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CycleEntitlement(SQLModel, table=True):
    """One holder's entitlement in a cycle (享受对象): the household's own (`member_id` None) or a member's, with the
    snapshot of the facts, the version and the rule-by-rule explanation it was decided on.

    `holder_key` is the member id, or "-" for the household: a unique key that NULLs cannot slip past.
    """

    __table_args__ = (UniqueConstraint("cycle_id", "household_id", "holder_key", name="uq_cycleentitlement_holder"),)

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    cycle_id: UUID = Field(index=True)
    household_id: UUID = Field(index=True)
    member_id: UUID | None = None
    holder_key: str = Field(max_length=36)
    area_code: str = Field(max_length=12, index=True)
    amount_fen: int = Field(sa_type=BigInteger)
    version_id: UUID
    status: str = Field(max_length=20, index=True, description="EntitlementStatus: listed, withdrawn")
    withdrawn_reason: str | None = Field(default=None, max_length=500)
    facts: dict[str, Any] = Field(sa_type=JSON, description="snapshot of the facts decided on")
    explanation: list[dict[str, Any]] = Field(sa_type=JSON, description="each condition, its fact and outcome")


class Objection(SQLModel, table=True):
    """An objection raised during a cycle's public notice (公示异议), about a listed entitlement or a household left
    out, and how it was decided."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    cycle_id: UUID = Field(index=True)
    household_id: UUID
    entitlement_id: UUID | None = None
    grounds: str = Field(max_length=1000)
    raised_on: date
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    decision: str | None = Field(default=None, max_length=20, description="ObjectionDecision: upheld, dismissed")
    decision_note: str | None = Field(default=None, max_length=1000)
    decided_by: str | None = Field(default=None, max_length=100)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- Payees, batches and the bank -----------------------------------------------------------------------------


class Payee(SQLModel, table=True):
    """The account a household's or member's subsidies are paid into (惠民惠农一卡通): account number and holder's
    name sealed (AES-GCM, bound to the payee id), a keyed hash of the number (blind index) to find accounts
    shared between households, masked forms for reading. A corrected account is a new payee; the old one is
    `replaced_at`."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    household_id: UUID = Field(index=True)
    member_id: UUID | None = None
    holder_key: str = Field(max_length=36)
    bank_code: str = Field(max_length=20)
    account_kid: str = Field(max_length=32)
    account_ciphertext: bytes = Field(sa_type=LargeBinary)
    account_hash: str = Field(max_length=64, index=True)
    account_masked: str = Field(max_length=40)
    holder_name_ciphertext: bytes = Field(sa_type=LargeBinary)
    holder_name_masked: str = Field(max_length=100)
    holder_member_id: UUID | None = Field(default=None, description="the member the account is in the name of")
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    replaced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DisbursementBatch(SQLModel, table=True):
    """The payment instructions of an approved cycle sent to the bank in one file (代发批次): the first batch, or a
    follow-up of failed lines whose account was corrected (`sequence` 2, 3, ...)."""

    __table_args__ = (UniqueConstraint("cycle_id", "sequence", name="uq_disbursementbatch_cycle_sequence"),)

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    cycle_id: UUID = Field(index=True)
    sequence: int
    status: str = Field(max_length=20, description="BatchStatus: built, exported, reconciled")
    line_count: int
    total_fen: int = Field(sa_type=BigInteger)
    checksum: str | None = Field(default=None, max_length=64, description="sha256 of the UTF-8 bank file")
    built_by: str = Field(max_length=100)
    built_at: datetime = Field(sa_type=UTCDateTime)


class BatchLine(SQLModel, table=True):
    """One payment instruction: an entitlement, the payee it goes to, the amount, and what the bank said.

    At most one line per entitlement is ever `pending` or `paid` (the partial unique index): whatever is retried,
    re-imported or followed up, an entitlement is paid at most once.
    """

    __table_args__ = (
        UniqueConstraint("batch_id", "line_no", name="uq_batchline_batch_line_no"),
        Index(
            "uq_batchline_entitlement_live",
            "entitlement_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'paid')"),
            sqlite_where=text("status IN ('pending', 'paid')"),
        ),
    )

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    batch_id: UUID = Field(index=True)
    line_no: int
    entitlement_id: UUID = Field(index=True)
    payee_id: UUID
    amount_fen: int = Field(sa_type=BigInteger)
    status: str = Field(max_length=20, description="LineStatus: pending, paid, failed, returned, reversed")
    bank_reason: str | None = Field(default=None, max_length=40, description="BankFailure for failed/returned")
    bank_reference: str | None = Field(default=None, max_length=64)
    settled_on: date | None = None


class BankFileExport(SQLModel, table=True):
    """Who exported a batch's bank file (the one place full account numbers leave the system), when, why, and the
    checksum of the bytes they got (in the export's encoding; the batch keeps the UTF-8 form's)."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    batch_id: UUID = Field(index=True)
    encoding: str = Field(max_length=10)
    checksum: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    exported_by: str = Field(max_length=100)
    exported_at: datetime = Field(sa_type=UTCDateTime)


class BankResultImport(SQLModel, table=True):
    """A bank result file imported for a batch (回盘文件): the same bytes (checksum) are imported once."""

    __table_args__ = (UniqueConstraint("batch_id", "checksum", name="uq_bankresultimport_batch_checksum"),)

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    batch_id: UUID = Field(index=True)
    checksum: str = Field(max_length=64)
    encoding: str = Field(max_length=10)
    line_count: int
    paid_count: int
    failed_count: int
    returned_count: int
    # Lines reported paid again under another serial or day: the money went out twice, each kept as a leak.
    duplicate_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    imported_by: str = Field(max_length=100)
    imported_at: datetime = Field(sa_type=UTCDateTime)


# --- Payments ---------------------------------------------------------------------------------------------------


class Payment(SQLModel, table=True):
    """A subsidy paid (补贴发放): by a cycle's bank line once the bank confirmed it (`entitlement_id` and
    `batch_line_id` set; one payment per line), or recorded by hand for money paid outside a cycle. Reversal (冲正)
    and recovery (追回) change its status, never delete it.

    At most one payment per entitlement, and per holder, policy, period and `order_ref`, is `paid` (the partial
    unique indexes): an entitlement whose payment the bank returned is paid by a follow-up line's payment of its own,
    the returned one staying reversed with its correction; a household paid its shares of two plans of one month
    has one payment of each plan.
    """

    __table_args__ = (
        UniqueConstraint("batch_line_id", name="uq_payment_batch_line"),
        Index(
            "uq_payment_paid_holder_policy_period",
            "household_id",
            "holder_key",
            "policy_code",
            "period",
            "order_ref",
            unique=True,
            postgresql_where=text("status = 'paid'"),
            sqlite_where=text("status = 'paid'"),
        ),
        Index(
            "uq_payment_paid_entitlement",
            "entitlement_id",
            unique=True,
            postgresql_where=text("status = 'paid'"),
            sqlite_where=text("status = 'paid'"),
        ),
    )

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    household_id: UUID = Field(index=True)
    member_id: UUID | None = None
    holder_key: str = Field(default="-", max_length=36)
    policy_code: str = Field(max_length=60)
    period: str = Field(max_length=7)
    order_ref: str = Field(
        default="",
        max_length=36,
        sa_column_kwargs={"server_default": ""},
        description="its cycle's: a plan's id, else empty (a payment by hand, a catalogue cycle's, a payroll's)",
    )
    amount_fen: int = Field(sa_type=BigInteger)
    idempotency_key: str = Field(max_length=100, unique=True)
    version_id: UUID | None = Field(default=None, description="the programme version it was paid under")
    entitlement_id: UUID | None = None
    batch_line_id: UUID | None = None
    payee_id: UUID | None = None
    status: str = Field(default="paid", max_length=20, description="PaymentStatus: paid, reversed, recovered")
    member_count: int = Field(description="snapshot: members when the payment was decided")
    area_code: str = Field(max_length=12, description="snapshot: the household's area when it was decided")
    paid_by: str = Field(max_length=100)
    paid_at: datetime = Field(sa_type=UTCDateTime)


class PaymentCorrection(SQLModel, table=True):
    """A wrong payment reversed (冲正, the bank returned it) or recovered (追回, taken back from the payee), with
    the reason and who decided it."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    payment_id: UUID = Field(index=True, unique=True)
    kind: str = Field(max_length=20, description="CorrectionKind: reversal, recovery")
    amount_fen: int = Field(sa_type=BigInteger)
    reason: str = Field(max_length=500)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


# --- Checks: coverage and leakage -----------------------------------------------------------------------------


class CoverageCheck(SQLModel, table=True):
    """A subsidy coverage check (政策落实覆盖核查): who the programme's rule entitled in an area for a period, and who
    went unpaid; run on demand or on a cycle's schedule (`cycle_id`)."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    policy_code: str = Field(max_length=60)
    period: str = Field(max_length=7)
    area_code: str | None = Field(default=None, max_length=12, description="the scope checked; None: the district")
    cycle_id: UUID | None = Field(default=None, index=True)
    checked_by: str = Field(max_length=100)
    checked_at: datetime = Field(sa_type=UTCDateTime)
    entitled_count: int
    gap_count: int


class CoverageGap(SQLModel, table=True):
    """One entitlement a coverage check found unpaid, as it stood when the check ran."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    check_id: UUID = Field(foreign_key="coveragecheck.id", index=True)
    household_id: UUID
    member_id: UUID | None = Field(default=None)
    area_code: str = Field(max_length=12, description="snapshot: the household's area when the check ran")


class LeakageCheck(SQLModel, table=True):
    """A check of the payments of a programme and period against who was entitled (资金安全核查)."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    policy_code: str | None = Field(default=None, max_length=60, description="None: every programme")
    period: str = Field(max_length=7)
    checked_by: str = Field(max_length=100)
    checked_at: datetime = Field(sa_type=UTCDateTime)
    payment_count: int
    leak_count: int


class Leak(SQLModel, table=True):
    """A payment that should not have been made as it was (LeakKind: paid_not_entitled, wrong_amount,
    paid_after_death, paid_after_exit, shared_account, holder_outside_household), published for audit."""

    __table_args__ = (UniqueConstraint("kind", "payment_id", name="uq_leak_kind_payment"),)

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    check_id: UUID = Field(index=True)
    kind: str = Field(max_length=30)
    payment_id: UUID
    household_id: UUID = Field(index=True)
    area_code: str = Field(max_length=12)
    policy_code: str = Field(max_length=60)
    period: str = Field(max_length=7)
    detail: str = Field(max_length=500)
