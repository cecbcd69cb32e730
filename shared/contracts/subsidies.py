"""Events on `subsidies.events`: subsidy payments (政策补贴发放)."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import Field

from shared.contracts import SUBSIDIES_TOPIC, IntegrationEvent
from shared.timeutil import PERIOD_PATTERN


class PolicyCode(StrEnum):
    """The programmes of the district's report (政策目录, docs/glossary.md): the codes a payment or a coverage check
    may name. A deployment pays a subset of them (`SUBSIDIES_POLICY_CODES`); events carry the value as a string."""

    DIBAO = "dibao"  # 低保 minimum living allowance
    EXTREME_POVERTY_SUPPORT = "extreme_poverty_support"  # 特困供养
    TEMPORARY_ASSISTANCE = "temporary_assistance"  # 临时救助
    DISABILITY_LIVING_SUBSIDY = "disability_living_subsidy"  # 残疾人两项补贴: the poor disabled's living subsidy
    DISABILITY_NURSING_SUBSIDY = "disability_nursing_subsidy"  # 残疾人两项补贴: the severely disabled's nursing
    EDUCATION_AID = "education_aid"  # 教育资助
    RAIN_AND_DEW_EDUCATION_AID = "rain_and_dew_education_aid"  # 雨露计划
    MEDICAL_AID = "medical_aid"  # 医疗救助
    HEALTH_INSURANCE_PREMIUM_SUBSIDY = "health_insurance_premium_subsidy"  # 居民医保补贴 / 代缴
    PENSION_PREMIUM_SUBSIDY = "pension_premium_subsidy"  # 养老保险代缴
    DANGEROUS_HOUSE_RENOVATION = "dangerous_house_renovation"  # 危房改造
    INDUSTRY_AWARD = "industry_award"  # 产业奖补
    EMPLOYMENT_SUBSIDY = "employment_subsidy"  # 就业补贴
    PUBLIC_WELFARE_JOB_SUBSIDY = "public_welfare_job_subsidy"  # 公益性岗位补贴
    TEMPORARY_PRICE_SUBSIDY = "temporary_price_subsidy"  # 价格临时补贴


class SubsidyEvent(IntegrationEvent):
    topic = SUBSIDIES_TOPIC
    household_id: UUID

    def aggregate_id(self) -> str:
        return str(self.household_id)


class SubsidyPaid(SubsidyEvent):
    """A subsidy was paid to a household, exactly once per policy and period."""

    event_type = "gov.poverty.subsidies.subsidy_paid.v1"
    payment_id: UUID
    policy_code: str
    period: str
    amount_fen: int = Field(gt=0)


class ProjectIncomeAllocated(SubsidyEvent):
    """A share of a project's income was allocated to a registered household (差异化分配)."""

    event_type = "gov.poverty.subsidies.project_income_allocated.v1"
    allocation_id: UUID
    project_id: UUID
    income_id: UUID
    amount_fen: int = Field(gt=0)


class SubsidyCoverageGap(SubsidyEvent):
    """A coverage check (政策落实核查) found a household entitled to a policy for a period and not paid it.

    `member_id` names the entitled member for a member's policy (a disabled person, a pupil); None for a
    household's (低保, 特困供养). Audit opens a finding for it (policy delivery); a later check that finds the same
    gap again adds an occurrence.
    """

    event_type = "gov.poverty.subsidies.coverage_gap_found.v1"
    check_id: UUID
    area_code: str
    policy_code: str
    period: str = Field(pattern=PERIOD_PATTERN)
    member_id: UUID | None = None
