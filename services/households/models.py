"""Tables of the household register (建档立卡). Rules live in `rules/` and use cases in `domain/`, not here.

No timestamp has a default: the use case stamps each row with the time it acts at (`now`, injected), so a forgotten
stamp fails the insert (NOT NULL) instead of reading the wall clock.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.ids import uuid7
from shared.open_findings import OpenFindingFields
from shared.timeutil import UTCDateTime


class HelperCadre(SQLModel, table=True):
    """A helper cadre (帮扶责任人): the official assigned to help households; `subject` is their login."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    subject: str = Field(max_length=100, unique=True)
    name: str = Field(max_length=100)
    unit: str = Field(max_length=200)
    area_code: str = Field(max_length=12, index=True)
    registered_at: datetime = Field(sa_type=UTCDateTime)


class Household(SQLModel, table=True):
    """A registered poor household (建档立卡贫困户); guarantee columns summarise the latest records."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    household_code: str = Field(max_length=32, unique=True)
    area_code: str = Field(max_length=12, index=True)
    head_name: str = Field(max_length=100)
    registered_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="in_poverty", max_length=30, index=True)
    helper_cadre_id: UUID | None = Field(default=None, foreign_key="helpercadre.id", index=True)
    minimum_allowance: str = Field(default="none", max_length=20)
    housing_grade: str | None = Field(default=None, max_length=1)
    housing_appraised_on: date | None = None
    water_safe: bool | None = None
    water_checked_on: date | None = None


class Member(SQLModel, table=True):
    """A member of a household (家庭成员), the head included; the ID-card number only sealed and hashed."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    household_id: UUID = Field(foreign_key="household.id", index=True)
    name: str = Field(max_length=100)
    relationship_to_head: str = Field(max_length=30)
    birth_date: date
    id_kid: str | None = Field(default=None, max_length=32)
    id_ciphertext: bytes | None = Field(default=None, sa_type=LargeBinary)
    id_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    id_masked: str | None = Field(default=None, max_length=18)
    disability_type: str | None = Field(default=None, max_length=20)
    disability_grade: int | None = None
    disability_certified_on: date | None = None
    chronic_disease: str | None = Field(default=None, max_length=100)
    chronic_disease_approved_on: date | None = None
    school_stage: str | None = Field(default=None, max_length=20)
    school_name: str | None = Field(default=None, max_length=100)
    enrolment: str | None = Field(default=None, max_length=20)
    labour_capacity: str | None = Field(default=None, max_length=20)
    medical_insured: bool = False
    premium_subsidised: bool = False
    family_doctor_contract: bool = False
    died_on: date | None = Field(default=None, description="死亡注销: kept in the register, no longer counted")
    death_source: str | None = Field(default=None, max_length=100)


class IdCardReveal(SQLModel, table=True):
    """Who saw a member's full ID-card number, when and why (the number itself is not stored here)."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    member_id: UUID = Field(foreign_key="member.id", index=True)
    household_id: UUID = Field(foreign_key="household.id", index=True)
    revealed_by: str = Field(max_length=100)
    reason: str = Field(max_length=500)
    revealed_at: datetime = Field(sa_type=UTCDateTime)


class Visit(SQLModel, table=True):
    """A visit to a household (走访/入户排查) in an inspection round."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    household_id: UUID = Field(foreign_key="household.id", index=True)
    round: int
    visited_on: date
    visitor: str = Field(max_length=100)
    observations: str = Field(default="", max_length=4000)
    housing_grade: str | None = Field(default=None, max_length=1)


class VisitProblem(SQLModel, table=True):
    """A problem a visit found; each is published for audit to turn into a finding."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    visit_id: UUID = Field(foreign_key="visit.id", index=True)
    household_id: UUID = Field(foreign_key="household.id", index=True)
    category: str = Field(max_length=30)
    code: str = Field(max_length=60)
    description: str = Field(max_length=1000)


class HouseholdOpenFinding(OpenFindingFields, table=True):
    """Audit's finding about a household while its rectification is open (read model fed by `audit.events`)."""

    __tablename__ = "openproblem"  # the table keeps its name from before the rename, so no migration

    household_id: UUID = Field(index=True)


class HousingAppraisal(SQLModel, table=True):
    """A housing-safety appraisal (住房安全鉴定), grade A-D; C/D must be renovated (危房改造) by a date."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    household_id: UUID = Field(foreign_key="household.id", index=True)
    grade: str = Field(max_length=1)
    appraised_on: date
    appraiser: str = Field(max_length=100)
    renovation_due: date | None = None
    renovated_on: date | None = None
    source: str = Field(max_length=20)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class WaterCheck(SQLModel, table=True):
    """A drinking-water check (安全饮水): source and problems (e.g. excess fluoride); safe when none."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    household_id: UUID = Field(foreign_key="household.id", index=True)
    checked_on: date
    source: str = Field(max_length=20)
    problems: str = Field(default="", max_length=200)
    safe: bool
    checked_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class PovertyLine(SQLModel, table=True):
    """A year's poverty line and relapse-monitoring margin, per person per year, in fen."""

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    line_fen: int = Field(sa_type=BigInteger)
    monitoring_margin_fen: int = Field(sa_type=BigInteger)
    set_by: str = Field(max_length=100)
    set_at: datetime = Field(sa_type=UTCDateTime)


class IncomeRecord(SQLModel, table=True):
    """Household income (家庭收入) for a year from one source, in fen."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    household_id: UUID = Field(foreign_key="household.id", index=True)
    year: int = Field(index=True)
    source: str = Field(max_length=30)
    amount_fen: int = Field(sa_type=BigInteger)
    note: str = Field(default="", max_length=200)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class TransferReceipt(SQLModel, table=True):
    """Money that reached the household from the other services: a subsidy paid (转移性收入), a project-income
    share (资产收益) or a wage (工资性收入: a post's allowance paid by subsidies, a workshop's wage recorded by
    projects), one row per payment, allocation or wage id, counted in the year's income (`kind`: TransferKind).

    A correction (冲正, 追回) arriving before its payment is kept here as awaiting it, so the payment then counts
    only what was not corrected, whichever order the events came in."""

    __table_args__ = (Index("ix_transferreceipt_household_year", "household_id", "year"),)

    receipt_id: UUID = Field(primary_key=True, description="the payment, allocation or wage id")
    household_id: UUID = Field(foreign_key="household.id")
    kind: str = Field(max_length=20)
    year: int
    policy_code: str | None = Field(default=None, max_length=100)
    period: str | None = Field(default=None, max_length=7)
    project_id: UUID | None = None
    member_id: UUID | None = Field(
        default=None, index=True, description="the member paid, for a member's programme (compared with deaths)"
    )
    cycle_id: UUID | None = Field(
        default=None, index=True, description="the cycle a subsidy was paid in (None: paid by hand, or kept before)"
    )
    paid_fen: int | None = Field(default=None, sa_type=BigInteger, description="None until the payment is known")
    corrected_fen: int = Field(default=0, sa_type=BigInteger)
    counted_fen: int = Field(sa_type=BigInteger, description="what the year's income counts of it")
    status: str = Field(max_length=20)
    received_at: datetime = Field(sa_type=UTCDateTime, description="when the first event about it was published")
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class MedicalExpense(SQLModel, table=True):
    """A member's out-of-pocket hospital cost (个人自付医疗费用) as the health department reported it."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    household_id: UUID = Field(foreign_key="household.id", index=True)
    member_id: UUID = Field(foreign_key="member.id", index=True)
    amount_fen: int = Field(sa_type=BigInteger)
    occurred_on: date
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class MonitoringEpisode(SQLModel, table=True):
    """A relapse-risk monitoring episode (防止返贫监测): opened by a flag, closed by a decision with evidence."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    household_id: UUID = Field(foreign_key="household.id", index=True)
    status: str = Field(default="open", max_length=10, index=True)
    opened_on: date
    status_before: str = Field(max_length=30)
    closed_on: date | None = None
    decision: str | None = Field(default=None, max_length=30)
    evidence: str | None = Field(default=None, max_length=2000)
    closed_by: str | None = Field(default=None, max_length=100)


class RiskFlag(SQLModel, table=True):
    """One reason a household was flagged (income under line + margin, medical cost, disability, disaster...)."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    household_id: UUID = Field(foreign_key="household.id", index=True)
    episode_id: UUID = Field(foreign_key="monitoringepisode.id", index=True)
    kind: str = Field(max_length=30)
    detail: str = Field(max_length=500)
    amount_fen: int | None = Field(default=None, sa_type=BigInteger)
    raised_on: date
    raised_by: str = Field(max_length=100)


class MonitoringMeasure(SQLModel, table=True):
    """A help measure (帮扶措施) taken in a monitoring episode."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    episode_id: UUID = Field(foreign_key="monitoringepisode.id", index=True)
    kind: str = Field(max_length=30)
    description: str = Field(max_length=1000)
    taken_on: date
    recorded_by: str = Field(max_length=100)


class DepartmentBatch(SQLModel, table=True):
    """One department bulk submission (行业部门数据) under an idempotency key, with its stored report."""

    __table_args__ = (UniqueConstraint("kind", "idempotency_key", name="uq_departmentbatch_kind_key"),)

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    kind: str = Field(max_length=30)
    idempotency_key: str = Field(max_length=100)
    request_digest: str = Field(max_length=64)
    submitted_by: str = Field(max_length=100)
    received_at: datetime = Field(sa_type=UTCDateTime)
    row_count: int
    applied_count: int
    error_count: int
    report: str = Field(sa_type=Text)


class HouseholdChange(SQLModel, table=True):
    """One entry of a household's change history: who changed what, from what, to what (ID numbers masked)."""

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    household_id: UUID = Field(foreign_key="household.id", index=True)
    changed_at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=50)
    changes: str = Field(sa_type=Text)


class PowerHolder(SQLModel, table=True):
    """A person with power over benefits (有审批权或评议权的人员): a village or township cadre, a helper cadre, an
    officer who approves. Their own ID number is kept only as a blind index, to find them among beneficiaries
    (优亲厚友)."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    person_id: str = Field(max_length=100, unique=True, description="their login (a token's subject)")
    name: str = Field(max_length=50, description="an official role: a cadre's name is not personal data here")
    post: str = Field(max_length=100, description="村支书, 乡镇扶贫办主任, 帮扶责任人, 审批科长 ...")
    role: str = Field(max_length=30, description="ResponsibleRole")
    area_code: str = Field(max_length=12, index=True)
    id_hash: str | None = Field(default=None, max_length=64, index=True)
    registered_by: str = Field(max_length=100)
    registered_at: datetime = Field(sa_type=UTCDateTime)
    ended_on: date | None = None


class PowerHolderRelative(SQLModel, table=True):
    """A close relative of a power holder (近亲属), known only by the blind index of their ID number."""

    __table_args__ = (UniqueConstraint("holder_id", "id_hash", name="uq_powerholderrelative_holder_id_hash"),)

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    holder_id: UUID = Field(foreign_key="powerholder.id", index=True)
    relationship: str = Field(max_length=20, description="RelativeKind: spouse, parent, child, sibling, ...")
    id_hash: str = Field(max_length=64, index=True)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    ended_on: date | None = None


class ApprovalRecord(SQLModel, table=True):
    """Who approved a list that pays households (from subsidies' `CycleApproved`, projects' plan and payroll
    approvals): payments under it are checked against the approver's relatives."""

    order_id: UUID = Field(primary_key=True, description="the cycle's, plan's or payroll's id")
    source: str = Field(max_length=30, description="subsidies_cycle, projects_plan, projects_payroll")
    approved_by: str = Field(max_length=100, index=True)
    programme: str | None = Field(default=None, max_length=60)
    period: str | None = Field(default=None, max_length=7)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class IntegrityHit(SQLModel, table=True):
    """A hit of the integrity checks (核查比对): a power holder or their relative among beneficiaries, an approval of a
    relative's payment, a 低保 member with a company, a vehicle or a public salary, a death while still paid. Each is
    found once per kind, member and reference, and published as a problem for audit with its evidence."""

    __table_args__ = (UniqueConstraint("kind", "member_id", "ref", name="uq_integrityhit_kind_member_ref"),)

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    kind: str = Field(max_length=40, description="HitKind")
    household_id: UUID = Field(index=True)
    member_id: UUID
    ref: str = Field(default="", max_length=64, description="what it is about: an order id, a batch id, a holder id")
    holder_id: UUID | None = Field(default=None, description="the power holder, for a conflict of interest")
    evidence: list[dict[str, object]] = Field(default_factory=list, sa_type=JSON)
    found_on: date
    problem_id: UUID
    recorded_at: datetime = Field(sa_type=UTCDateTime)
