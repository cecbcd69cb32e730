"""The projects service's words: the values its tables and bodies take."""

from __future__ import annotations

from enum import StrEnum

from shared.contracts.projects import FundSource, PayrollStatus, PlanStatus, ProjectStatus

# The words other services read in projects' events are the contract's.
__all__ = ["FundSource", "PayrollStatus", "PlanStatus", "ProjectStatus"]


class ContractKind(StrEnum):
    INSURANCE = "insurance"  # 项目保险
    MAINTENANCE = "maintenance"  # 运维合同 (the solar plants' maintenance company)


class AssetOwnerKind(StrEnum):
    """Who owns an asset (资产确权): the income belongs to the owner, and is shared among its poor households."""

    VILLAGE_COLLECTIVE = "village_collective"  # 村集体
    TOWNSHIP = "township"  # 乡镇


class ShareStatus(StrEnum):
    PLANNED = "planned"  # approved, not paid yet
    PAID = "paid"
    REVERSED = "reversed"  # paid, then reversed or recovered by subsidies


class DistributionBasis(StrEnum):
    """How a plan weighs households (差异化分配)."""

    MEMBERS = "members"  # by living members
    HOUSEHOLDS = "households"  # the same to every household
    CATEGORIES = "categories"  # points per household category (weak labour, disabled, elderly alone), 1 otherwise


class HouseholdCategory(StrEnum):
    """The household categories a plan may weigh, judged on the roll's members on the plan's day."""

    WEAK_LABOUR = "weak_labour"  # 弱劳力/无劳力: no living member aged 16-59 without a grade 1-2 disability
    DISABLED = "disabled"  # 残疾: a living member holds a disability certificate
    ELDERLY_ALONE = "elderly_alone"  # 独居老人: one living member, aged 60 or more


class SetAsidePurpose(StrEnum):
    """What part of an income may be kept back for, before the rest is shared."""

    PUBLIC_WELFARE_JOBS = "public_welfare_jobs"  # 公益岗位
    DOUBLE_IMPROVEMENT = "double_improvement"  # "双提升" differentiated help


class WorkshopKind(StrEnum):
    EMPLOYMENT_WORKSHOP = "employment_workshop"  # 就业工场 (同心就业工场)
    POVERTY_WORKSHOP = "poverty_workshop"  # 扶贫车间


class PostDuty(StrEnum):
    """What a public-welfare post (公益岗位) does."""

    CLEANING = "cleaning"  # 保洁
    CARE = "care"  # 护理, 帮扶对子
    SECURITY = "security"  # 治安巡逻
    FOREST_RANGER = "forest_ranger"  # 护林
    ROAD_MAINTENANCE = "road_maintenance"  # 护路
    OTHER = "other"


class ProblemOrigin(StrEnum):
    INSPECTION = "inspection"  # 两看一及时
    ACCEPTANCE = "acceptance"  # 验收
    CHECK = "check"  # a scheduled check: overdue, expired, below return, not distributed


class CheckCode(StrEnum):
    """The problems the scheduled checks find (the codes of their findings)."""

    MILESTONE_OVERDUE = "milestone_overdue"
    ACCEPTANCE_OVERDUE = "acceptance_overdue"
    CONTRACT_EXPIRED = "contract_expired"
    INCOME_BELOW_RETURN = "income_below_return"
    INCOME_NOT_DISTRIBUTED = "income_not_distributed"
