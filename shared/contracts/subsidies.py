"""Events on `subsidies.events`: subsidy payments (政策补贴发放)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import Field

from shared.contracts import SUBSIDIES_TOPIC, AreaCode, IntegrationEvent, Login, PeriodText
from shared.contracts.accountability import ResponsiblePerson

# A period of any programme's frequency, in the years of CALENDAR_YEARS: a month (monthly, one-off), a term (YYYY-S1,
# YYYY-S2) or a year.
ANY_PERIOD_PATTERN = r"^(19[0-9]{2}|2[01][0-9]{2})(-(0[1-9]|1[0-2])|-S[12])?$"


class PolicyCode(StrEnum):
    """The programmes of the district's report (docs/glossary.md): the codes a programme of the catalogue may have.
    The catalogue (政策目录, `/v1/programmes`) holds the programmes a deployment runs, each with its versions; a code
    not in it is refused wherever a programme is named. Events carry the value as a string."""

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
    PUBLIC_WELFARE_JOB_SUBSIDY = "public_welfare_job_subsidy"  # 公益性岗位补贴: paid on projects' payrolls
    PROJECT_INCOME_SHARE = "project_income_share"  # 资产收益分配: paid on projects' approved distribution plans
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
    policy_code: str = Field(max_length=60)
    period: PeriodText
    amount_fen: int = Field(gt=0)
    member_id: UUID | None = Field(default=None, description="the member paid, for a member's programme")
    cycle_id: UUID | None = Field(default=None, description="the cycle it was paid in; None: recorded by hand")
    version_id: UUID | None = Field(default=None, description="the programme version it was paid under")


class ProjectIncomeAllocated(SubsidyEvent):
    """A share of a project's income was allocated to a registered household (差异化分配) — by the automatic
    distribution that approved distribution plans replaced: no longer published, still counted by households when an
    old one is read from the topic or replayed.

    `period` is the income's (the period the project earned it in), so the share counts in that period's year even
    when it is shared out later; None from publishers that predate it (the year of the event's time then)."""

    event_type = "gov.poverty.subsidies.project_income_allocated.v1"
    allocation_id: UUID
    project_id: UUID
    income_id: UUID
    amount_fen: int = Field(gt=0)
    period: str | None = Field(
        default=None, pattern=ANY_PERIOD_PATTERN, description="the income's period: YYYY-MM (YYYY-S1/S2 or YYYY)"
    )


class SubsidyCoverageGap(SubsidyEvent):
    """A coverage check (政策落实核查) found a household entitled to a policy for a period and not paid it.

    `member_id` names the entitled member for a member's policy (a disabled person, a pupil); None for a
    household's (低保, 特困供养). Audit opens a finding for it (policy delivery); a later check that finds the same
    gap again adds an occurrence.
    """

    event_type = "gov.poverty.subsidies.coverage_gap_found.v1"
    check_id: UUID
    area_code: AreaCode
    policy_code: str = Field(max_length=60)
    period: str = Field(pattern=ANY_PERIOD_PATTERN, description="YYYY-MM, YYYY-S1/S2 or YYYY, by the frequency")
    member_id: UUID | None = None
    found_on: date | None = Field(default=None, description="the check's day (None from older publishers)")
    responsible: ResponsiblePerson | None = Field(
        default=None, description="who prepared the cycle's list (or the area's officer when no cycle was run)"
    )


class LeakKind(StrEnum):
    """How a payment went wrong (资金安全问题): each becomes an audit finding (虚报冒领, 优亲厚友, 截留挪用)."""

    PAID_NOT_ENTITLED = "paid_not_entitled"  # the rule did not entitle the holder for the period
    WRONG_AMOUNT = "wrong_amount"  # entitled, paid other than the standard of the version in force
    PAID_AFTER_DEATH = "paid_after_death"  # the member had died before the period began
    PAID_AFTER_EXIT = "paid_after_exit"  # the household had left the programme's statuses before the period
    SHARED_ACCOUNT = "shared_account"  # one payee account receives for several households
    HOLDER_OUTSIDE_HOUSEHOLD = "holder_outside_household"  # the account is in the name of no member
    # The bank reported a paid line paid again, under another serial or on another day: the money went out twice
    # (重复支付); found by a result file's import, not by a leakage check.
    DUPLICATE_DISBURSEMENT = "duplicate_disbursement"


class CorrectionKind(StrEnum):
    """How a wrong payment is undone: reversed by the bank (冲正) or recovered from the payee (追回)."""

    REVERSAL = "reversal"
    RECOVERY = "recovery"


class SubsidyPaymentCorrected(SubsidyEvent):
    """A payment was reversed or recovered: it no longer counts toward the household's transfer income."""

    event_type = "gov.poverty.subsidies.payment_corrected.v1"
    payment_id: UUID
    kind: CorrectionKind
    policy_code: str = Field(max_length=60)
    period: PeriodText
    amount_fen: int = Field(gt=0)


class SubsidyLeakFound(SubsidyEvent):
    """A leakage check found a payment that should not have been made as it was; audit opens a finding whose
    severity follows the kind (a payment to a non-entitled household is serious, a shared account severe).

    `check_id` is the leakage check's id, or for a `duplicate_disbursement` the id of the bank result import that
    reported the payment's line paid again."""

    event_type = "gov.poverty.subsidies.leak_found.v1"
    leak_id: UUID
    check_id: UUID
    kind: LeakKind
    payment_id: UUID
    area_code: AreaCode
    policy_code: str = Field(max_length=60)
    period: PeriodText
    detail: str = Field(max_length=500)
    found_on: date | None = Field(default=None, description="the check's day (None from older publishers)")
    responsible: ResponsiblePerson | None = Field(
        default=None, description="who approved the payment's cycle, or recorded the payment by hand"
    )


class CycleEvent(IntegrationEvent):
    """An event about a whole cycle (keyed by the cycle, not by a household)."""

    topic = SUBSIDIES_TOPIC
    cycle_id: UUID

    def aggregate_id(self) -> str:
        return str(self.cycle_id)


class CycleApproved(CycleEvent):
    """A cycle's entitlement list was approved (审批) by someone other than who submitted it."""

    event_type = "gov.poverty.subsidies.cycle_approved.v1"
    programme_code: str = Field(max_length=60)
    period: PeriodText
    version_id: UUID
    entitled_count: int = Field(ge=0)
    total_fen: int = Field(ge=0)
    submitted_by: Login
    approved_by: Login


class BankFileExported(CycleEvent):
    """A batch's bank file, the one place full account numbers leave the system, was exported: who, why, and the
    checksum of the bytes, for audit's log."""

    event_type = "gov.poverty.subsidies.bank_file_exported.v1"
    batch_id: UUID
    encoding: str
    checksum: str = Field(pattern="^[0-9a-f]{64}$")
    line_count: int = Field(ge=0)
    total_fen: int = Field(ge=0)
    exported_by: str
    reason: str = Field(max_length=500)
