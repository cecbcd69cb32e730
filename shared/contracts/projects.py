"""Events on `projects.events`: industrial projects (产业扶贫项目)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts import PROJECTS_TOPIC, AreaCode, IntegrationEvent, Login, ProblemCode, ProblemText
from shared.contracts.accountability import ResponsiblePerson, Severity
from shared.timeutil import PERIOD_PATTERN

MAX_PLAN_SHARES = 5_000
"""A distribution plan shares one asset's income within its owner's village or township: a few hundred households,
never more than this (an event stays well under Kafka's 1 MB record)."""
MAX_PAYROLL_LINES = 5_000


class ProjectKind(StrEnum):
    """Kinds of industrial project: 扶贫大棚 / 光伏 / 养殖 / 就业工场 / 其他 (the value of `ProjectRegistered.kind`)."""

    GREENHOUSE = "greenhouse"
    PHOTOVOLTAIC = "photovoltaic"
    LIVESTOCK = "livestock"
    EMPLOYMENT_WORKSHOP = "employment_workshop"
    OTHER = "other"


class ProjectStatus(StrEnum):
    """A project's life (项目全周期): 立项 → 批复 → 在建 → 完工 → 验收 → 运营 → 结项."""

    PLANNED = "planned"  # 谋划入库
    APPROVED = "approved"  # 批复立项
    UNDER_CONSTRUCTION = "under_construction"  # 在建
    COMPLETED = "completed"  # 完工
    ACCEPTED = "accepted"  # 验收
    OPERATING = "operating"  # 运营
    CLOSED = "closed"  # 结项


class FundSource(StrEnum):
    """Where a funding line's money comes from (资金来源): the report's 中央/省/市 funds (上级资金), the district's
    special funds (区级专项扶贫资金) and matching funds (配套资金)."""

    CENTRAL = "central"
    PROVINCIAL = "provincial"
    MUNICIPAL = "municipal"
    DISTRICT = "district"
    MATCHING = "matching"


class PlanStatus(StrEnum):
    """A distribution plan's way: 摸底 → 审核 → 批准 → 发放 → 报账."""

    PREPARED = "prepared"  # 摸底: shares computed under the rule, with their explanations
    REVIEWED = "reviewed"  # 审核: the township reviewed it
    APPROVED = "approved"  # approved by someone other than its preparer; sent to subsidies to pay
    PAID = "paid"  # every share paid by subsidies
    ACCOUNTED = "accounted"  # 报账: the finance office accounted for it
    REJECTED = "rejected"  # refused at review or approval: the income may be planned again


class PayrollStatus(StrEnum):
    """A month's payroll of the public-welfare posts: prepared, approved, paid (every line)."""

    PREPARED = "prepared"
    APPROVED = "approved"
    PAID = "paid"


class ProjectEvent(IntegrationEvent):
    topic = PROJECTS_TOPIC
    project_id: UUID

    def aggregate_id(self) -> str:
        return str(self.project_id)


class ProjectRegistered(ProjectEvent):
    """An industrial project entered the project stock (项目库)."""

    event_type = "gov.poverty.projects.project_registered.v1"
    name: str
    kind: str
    area_code: AreaCode
    budget_fen: int = Field(ge=0)


class ProjectProblemFound(ProjectEvent):
    """A project inspection (两看一及时) found a problem with the asset or its operation."""

    event_type = "gov.poverty.projects.problem_found.v1"
    problem_id: UUID
    area_code: AreaCode
    code: ProblemCode
    description: ProblemText
    found_on: date
    found_by: str
    severity: Severity | None = Field(
        default=None, description="chosen by the inspector or the check; None: audit grades it by its own policy"
    )
    responsible: ResponsiblePerson | None = Field(default=None, description="the project's manager (项目负责人)")


class ProjectStatusChanged(ProjectEvent):
    """A project moved along its life (ProjectStatus)."""

    event_type = "gov.poverty.projects.status_changed.v1"
    area_code: AreaCode
    from_status: ProjectStatus
    to_status: ProjectStatus
    effective_on: date
    changed_by: str


class AssetRegistered(ProjectEvent):
    """An accepted project's asset was registered to its owner (资产确权)."""

    event_type = "gov.poverty.projects.asset_registered.v1"
    asset_id: UUID
    owner_area_code: AreaCode
    value_fen: int = Field(ge=0)
    agreed_return_bp: int = Field(ge=0, description="the agreed yearly return, in basis points of the value")


class ProjectIncomeRecorded(ProjectEvent):
    """A project's income (收益) arrived and is to be distributed to poor households."""

    event_type = "gov.poverty.projects.income_recorded.v1"
    income_id: UUID
    period: str = Field(pattern=PERIOD_PATTERN)
    amount_fen: int = Field(gt=0)
    asset_id: UUID | None = Field(default=None, description="the asset that earned it; None from older publishers")


class PlanShare(BaseModel):
    """One household's share of a distribution plan."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    household_id: UUID
    amount_fen: int = Field(gt=0)


class IncomeDistributionApproved(ProjectEvent):
    """A distribution plan of an asset's income (收益分配方案) was approved: subsidies pays each share through its
    batches and bank file, as a cycle of `project_income_share` whose id is `plan_id`."""

    event_type = "gov.poverty.projects.income_distribution_approved.v1"
    plan_id: UUID
    income_id: UUID
    period: str = Field(pattern=PERIOD_PATTERN)
    owner_area_code: AreaCode
    approved_by: Login
    shares: list[PlanShare] = Field(min_length=1, max_length=MAX_PLAN_SHARES)


class PayrollLine(BaseModel):
    """One post holder's allowance for the payroll's month."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    household_id: UUID
    member_id: UUID
    post_id: UUID
    amount_fen: int = Field(gt=0)


class PayrollApproved(IntegrationEvent):
    """A month's payroll of public-welfare posts (公益岗位工资表) was approved: subsidies pays each holder's allowance
    as a cycle of `public_welfare_job_subsidy` whose id is `payroll_id`."""

    topic = PROJECTS_TOPIC
    event_type = "gov.poverty.projects.payroll_approved.v1"
    payroll_id: UUID
    period: str = Field(pattern=PERIOD_PATTERN)
    approved_by: Login
    lines: list[PayrollLine] = Field(min_length=1, max_length=MAX_PAYROLL_LINES)

    def aggregate_id(self) -> str:
        return str(self.payroll_id)


class WorkshopWagesRecorded(IntegrationEvent):
    """A workshop (就业工场, 扶贫车间) paid a poor household's member their wage for a month: the household's wage
    income (工资性收入)."""

    topic = PROJECTS_TOPIC
    event_type = "gov.poverty.projects.workshop_wages_recorded.v1"
    household_id: UUID
    member_id: UUID
    workshop_id: UUID
    wage_id: UUID
    period: str = Field(pattern=PERIOD_PATTERN)
    amount_fen: int = Field(gt=0)

    def aggregate_id(self) -> str:
        return str(self.household_id)


class DistributionPlanStatusChanged(ProjectEvent):
    """A distribution plan (收益分配方案) moved along its way: prepared, reviewed, rejected, approved, paid,
    accounted; or back to approved when subsidies reversed a payment of a paid or accounted plan."""

    event_type = "gov.poverty.projects.distribution_plan_status_changed.v1"
    plan_id: UUID
    income_id: UUID
    owner_area_code: AreaCode
    from_status: PlanStatus | None = Field(description="None when the plan was just prepared")
    to_status: PlanStatus
    changed_by: str = Field(description="the officer's subject; `subsidies` when a payment or its reversal moved it")
    amount_fen: int = Field(ge=0, description="the income the plan shares")


class PayrollStatusChanged(IntegrationEvent):
    """A month's payroll of public-welfare posts (公益岗位工资表) was prepared, approved, paid in full, or went back to
    approved when subsidies reversed a payment of a paid one."""

    topic = PROJECTS_TOPIC
    event_type = "gov.poverty.projects.payroll_status_changed.v1"
    payroll_id: UUID
    period: str = Field(pattern=PERIOD_PATTERN)
    from_status: PayrollStatus | None = Field(description="None when the payroll was just prepared")
    to_status: PayrollStatus
    changed_by: str = Field(description="the officer's subject; `subsidies` when a payment or its reversal moved it")
    total_fen: int = Field(ge=0)

    def aggregate_id(self) -> str:
        return str(self.payroll_id)


class ProjectSpendingRecorded(ProjectEvent):
    """A project spent money (支出) against its draw on a funding line of one source and year."""

    event_type = "gov.poverty.projects.spending_recorded.v1"
    spending_id: UUID
    funding_id: UUID
    allocation_id: UUID
    source: FundSource
    year: int
    amount_fen: int = Field(gt=0)
    spent_on: date
    area_code: AreaCode = Field(description="the project's")


class PostHolderChanged(IntegrationEvent):
    """A public-welfare post (公益岗位) was taken by a poor household's member, or its holder left it (or died):
    `ended_on` is their last day, None while they hold it."""

    topic = PROJECTS_TOPIC
    event_type = "gov.poverty.projects.post_holder_changed.v1"
    post_id: UUID
    area_code: AreaCode = Field(description="the post's")
    household_id: UUID
    member_id: UUID
    started_on: date
    ended_on: date | None = None

    def aggregate_id(self) -> str:
        return str(self.post_id)
