"""Tables of the projects service: industrial projects (产业扶贫项目) and their funds, milestones, acceptance,
contracts, assets, income and its distribution plans; workshops and public-welfare posts; inspections and problems;
the household roll (read model of `households.events`) plans and posts are decided from; open findings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, BigInteger, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from shared.ids import uuid7
from shared.open_findings import OpenFindingFields
from shared.timeutil import UTCDateTime


class Project(SQLModel, table=True):
    """An industrial project (产业扶贫项目) in a township or village."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    project_code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=30)  # a ProjectKind
    area_code: str = Field(max_length=12, index=True)
    budget_fen: int = Field(sa_type=BigInteger)
    started_on: date
    registered_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="planned", max_length=30, index=True, description="ProjectStatus")
    manager_id: str | None = Field(default=None, max_length=100, description="the responsible officer's subject")
    manager_name: str | None = Field(default=None, max_length=100, description="项目负责人, an official role")
    acceptance_due_on: date | None = Field(default=None, description="验收 by this day, or it is a finding")
    status_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ProjectStatusChange(SQLModel, table=True):
    """One step of a project's life (ProjectStatus), who took it and why: the project's history."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    project_id: UUID = Field(index=True)
    from_status: str = Field(max_length=30)
    to_status: str = Field(max_length=30)
    effective_on: date
    note: str = Field(default="", max_length=1000)
    changed_by: str = Field(max_length=100)
    changed_at: datetime = Field(sa_type=UTCDateTime)


# --- Funds (资金) --------------------------------------------------------------------------------------------------


class FundAllocation(SQLModel, table=True):
    """A funding line (资金指标): money of one source (FundSource: central, provincial, municipal, district special
    funds, matching) allocated for one year under one document (文号)."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    source: str = Field(max_length=20, index=True, description="FundSource")
    year: int = Field(index=True)
    document_no: str = Field(max_length=100, description="the allocation document (文号)")
    purpose: str = Field(default="", max_length=500)
    amount_fen: int = Field(sa_type=BigInteger)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class ProjectFunding(SQLModel, table=True):
    """What a project draws from one funding line; the lines' draws never exceed the line's amount."""

    __table_args__ = (UniqueConstraint("project_id", "allocation_id", name="uq_projectfunding_project_allocation"),)

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    project_id: UUID = Field(index=True)
    allocation_id: UUID = Field(index=True)
    amount_fen: int = Field(sa_type=BigInteger)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class ProjectSpending(SQLModel, table=True):
    """Money spent (支出) by a project against one of its funding draws; never past the draw."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    project_id: UUID = Field(index=True)
    funding_id: UUID = Field(index=True)
    amount_fen: int = Field(sa_type=BigInteger)
    spent_on: date
    purpose: str = Field(max_length=500)
    voucher_no: str = Field(max_length=100, description="the payment voucher (凭证号)")
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


# --- Construction, acceptance, contracts -----------------------------------------------------------------------


class ProjectMilestone(SQLModel, table=True):
    """A step of construction with its due date and progress; overdue while not completed after `due_on`."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    project_id: UUID = Field(index=True)
    name: str = Field(max_length=200)
    due_on: date
    progress_pct: int = 0
    completed_on: date | None = None
    updated_by: str = Field(max_length=100)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ProjectAcceptance(SQLModel, table=True):
    """An acceptance inspection (验收) by an officer who is not the project's manager, passed or not, with what it
    found (each finding also a problem published for audit)."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    project_id: UUID = Field(index=True)
    accepted_on: date
    officer_id: str = Field(max_length=100)
    officer_name: str = Field(max_length=100)
    passed: bool
    findings: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class ProjectContract(SQLModel, table=True):
    """An insurance policy (项目保险) or maintenance contract (运维合同, e.g. the solar plants') of a project."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    project_id: UUID = Field(index=True)
    kind: str = Field(max_length=20, description="ContractKind: insurance, maintenance")
    provider: str = Field(max_length=200)
    cost_fen: int = Field(sa_type=BigInteger)
    starts_on: date
    expires_on: date = Field(index=True)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


# --- Assets and income ----------------------------------------------------------------------------------------


class ProjectAsset(SQLModel, table=True):
    """An asset an accepted project registered to its owner (资产确权): a village collective or a township."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    project_id: UUID = Field(index=True)
    description: str = Field(max_length=200)
    value_fen: int = Field(sa_type=BigInteger)
    owner_kind: str = Field(max_length=30, description="AssetOwnerKind: village_collective, township")
    owner_area_code: str = Field(max_length=12, index=True)
    operator: str = Field(max_length=200, description="who runs it (经营主体)")
    agreed_return_bp: int = Field(description="the agreed yearly return in basis points of the value: 800 = 8 %")
    registered_on: date
    registered_by: str = Field(max_length=100)
    registered_at: datetime = Field(sa_type=UTCDateTime)


class ProjectInspection(SQLModel, table=True):
    """A project inspection (两看一及时): look at the asset, look at the operation, fix promptly."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    project_id: UUID = Field(foreign_key="project.id", index=True)
    inspected_on: date
    inspector: str = Field(max_length=100)
    notes: str = Field(default="", max_length=4000)


class ProjectProblem(SQLModel, table=True):
    """A problem found with a project: by an inspection, an acceptance, or a scheduled check (overdue milestone,
    expired contract, income below its return or not distributed). Each is published for audit to turn into a
    finding; a check reports one problem about one thing (`subject_ref`) once."""

    __table_args__ = (
        Index(
            "uq_projectproblem_check_subject",
            "project_id",
            "code",
            "subject_ref",
            unique=True,
            postgresql_where=text("origin = 'check'"),
            sqlite_where=text("origin = 'check'"),
        ),
    )

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    inspection_id: UUID | None = Field(default=None, foreign_key="projectinspection.id", index=True)
    project_id: UUID = Field(foreign_key="project.id", index=True)
    code: str = Field(max_length=60)
    description: str = Field(max_length=1000)
    severity: str | None = Field(default=None, max_length=20, description="Severity; None: audit grades it")
    origin: str = Field(default="inspection", max_length=20, description="ProblemOrigin: inspection, acceptance, check")
    subject_ref: str = Field(default="", max_length=64, description="what a check found it about (a milestone's id)")
    found_on: date | None = None


class ProjectIncome(SQLModel, table=True):
    """An asset's income (收益) for one period: it belongs to the asset's owner. One record per asset and period
    (records made before assets were registered name no asset)."""

    __table_args__ = (UniqueConstraint("asset_id", "period", name="uq_projectincome_asset_period"),)

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    project_id: UUID = Field(foreign_key="project.id", index=True)
    asset_id: UUID | None = Field(default=None, index=True)
    period: str = Field(max_length=7)
    amount_fen: int = Field(sa_type=BigInteger)
    received_on: date | None = Field(
        default=None, description="when it arrived: the deadline to distribute runs from it"
    )
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class DistributionPlan(SQLModel, table=True):
    """How one income is shared (收益分配方案): prepared (摸底) under a declared rule, reviewed by the township (审核),
    approved by someone other than its preparer, paid through subsidies, accounted for (报账). One plan per income
    that is not rejected."""

    __table_args__ = (
        Index(
            "uq_distributionplan_live_income",
            "income_id",
            unique=True,
            postgresql_where=text("status <> 'rejected'"),
            sqlite_where=text("status <> 'rejected'"),
        ),
    )

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    income_id: UUID = Field(index=True)
    project_id: UUID = Field(index=True)
    asset_id: UUID
    owner_area_code: str = Field(max_length=12, index=True)
    period: str = Field(max_length=7)
    status: str = Field(max_length=20, index=True, description="PlanStatus")
    rule: dict[str, Any] = Field(sa_type=JSON, description="the declared rule: basis, weights, set-asides")
    amount_fen: int = Field(sa_type=BigInteger, description="the income shared")
    set_aside_fen: int = Field(default=0, sa_type=BigInteger, description="kept back for posts and 双提升 help")
    shared_fen: int = Field(default=0, sa_type=BigInteger, description="shared among households")
    household_count: int = 0
    paid_fen: int = Field(default=0, sa_type=BigInteger)
    prepared_by: str = Field(max_length=100)
    prepared_at: datetime = Field(sa_type=UTCDateTime)
    reviewed_by: str | None = Field(default=None, max_length=100)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_note: str | None = Field(default=None, max_length=1000)
    approved_by: str | None = Field(default=None, max_length=100)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rejected_by: str | None = Field(default=None, max_length=100, description="at review or at approval")
    rejected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rejection_note: str | None = Field(default=None, max_length=1000)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accounted_by: str | None = Field(default=None, max_length=100)
    accounted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    voucher_no: str | None = Field(default=None, max_length=100, description="报账凭证号")


class PlanSetAside(SQLModel, table=True):
    """Part of a plan's income kept back for a purpose (SetAsidePurpose: 公益岗位, 双提升 help)."""

    __table_args__ = (UniqueConstraint("plan_id", "purpose", name="uq_plansetaside_plan_purpose"),)

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    plan_id: UUID = Field(index=True)
    purpose: str = Field(max_length=30)
    share_bp: int
    amount_fen: int = Field(sa_type=BigInteger)


class PlanShare(SQLModel, table=True):
    """One household's share of a plan, with the facts it was decided on and why (its explanation)."""

    __table_args__ = (UniqueConstraint("plan_id", "household_id", name="uq_planshare_plan_household"),)

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    plan_id: UUID = Field(index=True)
    household_id: UUID = Field(index=True)
    area_code: str = Field(max_length=12)
    weight: int = Field(description="the household's units under the rule (members, or category points)")
    amount_fen: int = Field(sa_type=BigInteger)
    facts: dict[str, Any] = Field(sa_type=JSON)
    explanation: str = Field(max_length=500)
    status: str = Field(default="planned", max_length=20, description="ShareStatus: planned, paid, reversed")
    payment_id: UUID | None = None
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- Workshops and public-welfare posts ----------------------------------------------------------------------


class Workshop(SQLModel, table=True):
    """An employment workshop (就业工场) or poverty workshop (扶贫车间), possibly a branch of another."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=30, description="WorkshopKind")
    area_code: str = Field(max_length=12, index=True)
    project_id: UUID | None = Field(default=None, index=True)
    parent_id: UUID | None = Field(default=None, index=True, description="the workshop this one is a branch of")
    operator: str = Field(max_length=200)
    registered_by: str = Field(max_length=100)
    registered_at: datetime = Field(sa_type=UTCDateTime)


class WorkshopEmployment(SQLModel, table=True):
    """A poor household's member employed by a workshop, at an agreed monthly wage, from a day until a day."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    workshop_id: UUID = Field(index=True)
    household_id: UUID = Field(index=True)
    member_id: UUID = Field(index=True)
    monthly_wage_fen: int = Field(sa_type=BigInteger)
    started_on: date
    ended_on: date | None = None
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class WorkshopWage(SQLModel, table=True):
    """A month's wage a workshop paid to one employed member: the household's wage income (工资性收入)."""

    __table_args__ = (UniqueConstraint("employment_id", "period", name="uq_workshopwage_employment_period"),)

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    employment_id: UUID = Field(index=True)
    workshop_id: UUID = Field(index=True)
    household_id: UUID = Field(index=True)
    member_id: UUID
    period: str = Field(max_length=7)
    amount_fen: int = Field(sa_type=BigInteger)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class PublicWelfarePost(SQLModel, table=True):
    """A public-welfare post (公益岗位): a duty in a village or township with a monthly allowance."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    title: str = Field(max_length=200)
    duty: str = Field(max_length=30, description="PostDuty: cleaning, care, security, ...")
    area_code: str = Field(max_length=12, index=True)
    monthly_allowance_fen: int = Field(sa_type=BigInteger)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)


class PostHolding(SQLModel, table=True):
    """A poor household's member holding a post from a day until a day; a member holds one post at a time and a
    post has one holder at a time."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    post_id: UUID = Field(index=True)
    household_id: UUID = Field(index=True)
    member_id: UUID = Field(index=True)
    started_on: date
    ended_on: date | None = None
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class CarePairing(SQLModel, table=True):
    """A post holder paired with a household that cannot look after itself (帮扶对子)."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    holding_id: UUID = Field(index=True)
    cared_household_id: UUID = Field(index=True)
    started_on: date
    ended_on: date | None = None
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class Payroll(SQLModel, table=True):
    """A month's payroll of the public-welfare posts (公益岗位工资表): prepared, approved by someone other than its
    preparer, paid through subsidies. One per month."""

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    period: str = Field(max_length=7, unique=True)
    status: str = Field(max_length=20, description="PayrollStatus: prepared, approved, paid")
    line_count: int
    total_fen: int = Field(sa_type=BigInteger)
    paid_fen: int = Field(default=0, sa_type=BigInteger)
    prepared_by: str = Field(max_length=100)
    prepared_at: datetime = Field(sa_type=UTCDateTime)
    approved_by: str | None = Field(default=None, max_length=100)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PayrollLine(SQLModel, table=True):
    """One holder's allowance for the payroll's month (days held, pro rata)."""

    __table_args__ = (UniqueConstraint("payroll_id", "member_id", name="uq_payrollline_payroll_member"),)

    id: UUID = Field(default_factory=uuid7, primary_key=True)
    payroll_id: UUID = Field(index=True)
    holding_id: UUID
    post_id: UUID
    household_id: UUID = Field(index=True)
    member_id: UUID
    amount_fen: int = Field(sa_type=BigInteger)
    status: str = Field(default="planned", max_length=20, description="ShareStatus: planned, paid, reversed")
    payment_id: UUID | None = None
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- The household roll (read model of households.events) ---------------------------------------------------


class RollHousehold(SQLModel, table=True):
    """A registered household as projects knows it: where it is, its status, for plans and posts."""

    household_id: UUID = Field(primary_key=True)
    area_code: str = Field(max_length=12, index=True)
    status: str = Field(default="in_poverty", max_length=30, description="脱贫状态 (HouseholdStatus)")
    member_count: int
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RollMember(SQLModel, table=True):
    """A member of a rolled household: what the categories of a plan (elderly, disabled, labour) are judged on."""

    member_id: UUID = Field(primary_key=True)
    household_id: UUID = Field(index=True)
    birth_date: date | None = None
    disability_grade: int | None = None
    died_on: date | None = None


class ProjectOpenFinding(OpenFindingFields, table=True):
    """A finding of audit's about a project, as audit tracks it until closed (read model fed by `audit.events`)."""

    __tablename__ = "projectopenproblem"  # kept from before the rename, so no migration

    project_id: UUID = Field(index=True)
