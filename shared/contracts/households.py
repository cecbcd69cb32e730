"""Events on `households.events`: the household register of registered poor households (建档立卡贫困户).

Payloads carry ids and facts, never an ID-card number, a name or free text typed by an officer.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import Field

from shared.contracts import HOUSEHOLDS_TOPIC, AreaCode, IntegrationEvent, ProblemCode, ProblemText
from shared.contracts.accountability import ResponsiblePerson, Severity


class ProblemCategory(StrEnum):
    """What kind of gap a problem is; the same words audit uses for findings."""

    HOUSING = "housing"
    SCHOOLING = "schooling"
    MEDICAL = "medical"
    WATER = "water"
    INCOME = "income"
    POLICY_DELIVERY = "policy_delivery"
    FUNDS = "funds"
    PROJECT = "project"
    CONDUCT = "conduct"


class HouseholdStatus(StrEnum):
    """脱贫状态: where a household stands; changed only by the lifecycle rules."""

    IN_POVERTY = "in_poverty"  # 未脱贫
    EXITED_RECEIVING_POLICIES = "exited_receiving_policies"  # 脱贫享受政策
    EXITED_NO_POLICIES = "exited_no_policies"  # 脱贫不享受政策
    MONITORED = "monitored"  # 监测对象 / 即时帮扶户
    RELAPSED = "relapsed"  # 返贫


class RiskKind(StrEnum):
    """Why relapse-risk monitoring (防止返贫监测) flagged a household."""

    INCOME_BELOW_MARGIN = "income_below_margin"
    LARGE_MEDICAL_EXPENSE = "large_medical_expense"
    NEW_DISABILITY = "new_disability"
    DISASTER = "disaster"
    JOB_LOSS = "job_loss"


class MinimumAllowance(StrEnum):
    """Civil affairs' social-assistance status of a household: 低保 or 特困供养."""

    NONE = "none"
    DIBAO = "dibao"
    EXTREME_POVERTY = "extreme_poverty"


class EpisodeDecision(StrEnum):
    """How a monitoring episode closed: 风险消除 (risk eliminated) or 返贫 (the household relapsed)."""

    RISK_ELIMINATED = "risk_eliminated"
    RELAPSED = "relapsed"


class Relationship(StrEnum):
    """与户主关系: a member's relationship to the head of the household (GB/T 4761 groups). Events carry it as text."""

    HEAD = "head"  # 户主
    SPOUSE = "spouse"  # 配偶
    SON = "son"  # 子
    DAUGHTER = "daughter"  # 女
    SON_IN_LAW = "son_in_law"  # 女婿
    DAUGHTER_IN_LAW = "daughter_in_law"  # 儿媳
    GRANDCHILD = "grandchild"  # 孙子女 / 外孙子女
    PARENT = "parent"  # 父母
    PARENT_IN_LAW = "parent_in_law"  # 公婆 / 岳父母
    GRANDPARENT = "grandparent"  # 祖父母 / 外祖父母
    SIBLING = "sibling"  # 兄弟姐妹
    OTHER = "other"  # 其他


class HousingGrade(StrEnum):
    """住房安全鉴定等级: A and B are safe, C (局部危险) and D (整体危险) must be renovated. Events carry it as text."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class HouseholdEvent(IntegrationEvent):
    topic = HOUSEHOLDS_TOPIC
    household_id: UUID

    def aggregate_id(self) -> str:
        return str(self.household_id)


class HouseholdRegistered(HouseholdEvent):
    """A household entered the household register (建档立卡)."""

    event_type = "gov.poverty.households.household_registered.v1"
    household_code: str
    area_code: AreaCode
    member_count: int = Field(ge=1)


class HouseholdProblemFound(HouseholdEvent):
    """A problem was found: on a visit (走访/入户排查), in a department's data, or by relapse-risk monitoring.

    `visit_id` is None when no visit found it (a department's appraisal, a relapse-risk flag); the other
    fields mean what they always meant.
    """

    event_type = "gov.poverty.households.problem_found.v1"
    problem_id: UUID
    visit_id: UUID | None = None
    area_code: AreaCode
    category: ProblemCategory
    code: ProblemCode = Field(
        description="stable problem kind, e.g. housing_unsafe, school_dropout, relapse_risk_disaster"
    )
    description: ProblemText
    housing_grade: str | None = Field(default=None, pattern="^[ABCD]$")
    found_on: date
    found_by: str
    severity: Severity | None = Field(
        default=None, description="stated by the finder (a cadre's relative among beneficiaries is severe)"
    )
    responsible: ResponsiblePerson | None = Field(
        default=None, description="the household's helper cadre, or who else answers for the problem"
    )


class HouseholdUpdated(HouseholdEvent):
    """The household's own facts changed (head of household, village); `changed` names the fields."""

    event_type = "gov.poverty.households.household_updated.v1"
    area_code: AreaCode
    changed: list[str]


class HouseholdStatusChanged(HouseholdEvent):
    """The household moved through the lifecycle (脱贫, 监测, 返贫), always through the rules."""

    event_type = "gov.poverty.households.status_changed.v1"
    area_code: AreaCode
    from_status: HouseholdStatus
    to_status: HouseholdStatus
    reason: str = Field(description="why: officer_decision, monitoring_opened, risk_eliminated, relapsed")
    effective_on: date
    changed_by: str


class MemberAdded(HouseholdEvent):
    """A member joined a registered household (家庭成员)."""

    event_type = "gov.poverty.households.member_added.v1"
    member_id: UUID
    relationship_to_head: str = Field(max_length=30)
    birth_date: date
    name_masked: str | None = Field(
        default=None, max_length=100, description="the name as a public notice (公示) shows it: 张*三"
    )
    id_masked: str | None = Field(
        default=None, pattern=r"^\d{4}\*{10}[\dX]{4}$", description="the ID number masked: 3715**********1234"
    )


class MemberDied(HouseholdEvent):
    """A member died (死亡注销): entitlements held for them end from the day after; the household's per-member
    amounts count one member fewer."""

    event_type = "gov.poverty.households.member_died.v1"
    member_id: UUID
    died_on: date


class MemberUpdated(HouseholdEvent):
    """A member's facts changed; `changed` names the fields (never their values)."""

    event_type = "gov.poverty.households.member_updated.v1"
    member_id: UUID
    changed: list[str]


class MemberDisabilityRecorded(HouseholdEvent):
    """A member holds a disability certificate (残疾证): the facts disability subsidies decide from."""

    event_type = "gov.poverty.households.member_disability_recorded.v1"
    member_id: UUID
    disability_type: str
    grade: int = Field(ge=1, le=4)
    certified_on: date


class MemberChronicDiseaseApproved(HouseholdEvent):
    """A member's chronic disease was approved for special treatment (慢性病审批)."""

    event_type = "gov.poverty.households.member_chronic_disease_approved.v1"
    member_id: UUID
    approved_on: date


class MemberSchoolingChanged(HouseholdEvent):
    """A member's enrolment changed (控辍保学): enrolled, dropped_out or exempt."""

    event_type = "gov.poverty.households.member_schooling_changed.v1"
    member_id: UUID
    enrolment: str = Field(max_length=20)
    school_stage: str | None = Field(max_length=20)


class MemberMedicalCoverageChanged(HouseholdEvent):
    """Basic medical insurance (基本医疗保险), premium subsidy (代缴) or family-doctor contract changed."""

    event_type = "gov.poverty.households.member_medical_coverage_changed.v1"
    member_id: UUID
    medical_insured: bool
    premium_subsidised: bool
    family_doctor_contract: bool


class MinimumAllowanceChanged(HouseholdEvent):
    """Civil affairs changed the household's 低保 / 特困供养 status."""

    event_type = "gov.poverty.households.minimum_allowance_changed.v1"
    status: MinimumAllowance
    effective_on: date


class HospitalCostRecorded(HouseholdEvent):
    """Health reported a member's out-of-pocket hospital cost (个人自付医疗费用)."""

    event_type = "gov.poverty.households.hospital_cost_recorded.v1"
    member_id: UUID
    expense_id: UUID
    amount_fen: int = Field(gt=0)
    occurred_on: date


class IdCardRevealed(HouseholdEvent):
    """Someone saw a member's full ID-card number: who and why (the number itself is never in an event)."""

    event_type = "gov.poverty.households.id_card_revealed.v1"
    member_id: UUID
    reveal_id: UUID
    revealed_by: str
    reason: str


class HousingAppraised(HouseholdEvent):
    """A housing-safety appraisal (住房安全鉴定) graded the house A-D; C/D carries a renovation deadline."""

    event_type = "gov.poverty.households.housing_appraised.v1"
    appraisal_id: UUID
    area_code: AreaCode
    grade: str = Field(pattern="^[ABCD]$")
    appraised_on: date
    renovation_due: date | None


class HousingRenovated(HouseholdEvent):
    """A C/D house was renovated (危房改造) and re-graded by a new appraisal."""

    event_type = "gov.poverty.households.housing_renovated.v1"
    appraisal_id: UUID
    new_appraisal_id: UUID
    new_grade: str = Field(pattern="^[AB]$")
    completed_on: date


class WaterChecked(HouseholdEvent):
    """Drinking water was checked (安全饮水): source and quality problems such as excess fluoride."""

    event_type = "gov.poverty.households.water_checked.v1"
    check_id: UUID
    safe: bool
    problems: list[str]
    checked_on: date


class IncomeRecorded(HouseholdEvent):
    """An income record (收入) for a year and source; `per_capita_income_fen` is the year's figure after it."""

    event_type = "gov.poverty.households.income_recorded.v1"
    record_id: UUID
    year: int
    source: str
    amount_fen: int = Field(ge=0)
    per_capita_income_fen: int = Field(ge=0)


class HelperCadreAssigned(HouseholdEvent):
    """A helper cadre (帮扶责任人) was assigned to the household."""

    event_type = "gov.poverty.households.helper_cadre_assigned.v1"
    helper_cadre_id: UUID


class HelperCadreUnassigned(HouseholdEvent):
    """The household moved out of its helper cadre's area: it waits for the new area's officers to assign one."""

    event_type = "gov.poverty.households.helper_cadre_unassigned.v1"
    helper_cadre_id: UUID


class VisitRecorded(HouseholdEvent):
    """A visit (走访) was recorded in an inspection round; its problems follow as HouseholdProblemFound."""

    event_type = "gov.poverty.households.visit_recorded.v1"
    visit_id: UUID
    area_code: AreaCode
    round: int
    visited_on: date
    problem_count: int = Field(ge=0)


class RiskFlagRaised(HouseholdEvent):
    """Relapse-risk monitoring flagged the household; the flag belongs to an open monitoring episode."""

    event_type = "gov.poverty.households.risk_flag_raised.v1"
    flag_id: UUID
    episode_id: UUID
    area_code: AreaCode
    kind: RiskKind
    raised_on: date


class MonitoringEpisodeOpened(HouseholdEvent):
    """A monitoring episode (防返贫监测) opened on a flag."""

    event_type = "gov.poverty.households.monitoring_episode_opened.v1"
    episode_id: UUID
    area_code: AreaCode
    opened_on: date


class MonitoringMeasureTaken(HouseholdEvent):
    """A help measure (帮扶措施) was taken within a monitoring episode."""

    event_type = "gov.poverty.households.monitoring_measure_taken.v1"
    episode_id: UUID
    measure_id: UUID
    kind: str
    taken_on: date


class MonitoringEpisodeClosed(HouseholdEvent):
    """A monitoring episode closed with a decision: risk eliminated (风险消除, with evidence) or relapsed."""

    event_type = "gov.poverty.households.monitoring_episode_closed.v1"
    episode_id: UUID
    decision: EpisodeDecision
    closed_on: date


class HelperCadreRegistered(IntegrationEvent):
    """A helper cadre (帮扶责任人) was registered."""

    event_type = "gov.poverty.households.helper_cadre_registered.v1"
    topic = HOUSEHOLDS_TOPIC
    helper_cadre_id: UUID
    area_code: AreaCode

    def aggregate_id(self) -> str:
        return str(self.helper_cadre_id)


class PovertyLineSet(IntegrationEvent):
    """The district set a year's poverty line and relapse-monitoring margin (integer fen per person)."""

    event_type = "gov.poverty.households.poverty_line_set.v1"
    topic = HOUSEHOLDS_TOPIC
    year: int
    line_fen: int = Field(gt=0)
    monitoring_margin_fen: int = Field(ge=0)

    def aggregate_id(self) -> str:
        return f"poverty-line:{self.year}"


class DepartmentDataReceived(IntegrationEvent):
    """A department's bulk submission (行业部门数据比对) was applied: counts only, never the rows."""

    event_type = "gov.poverty.households.department_data_received.v1"
    topic = HOUSEHOLDS_TOPIC
    batch_id: UUID
    kind: str
    row_count: int = Field(ge=0)
    applied_count: int = Field(ge=0)
    error_count: int = Field(ge=0)

    def aggregate_id(self) -> str:
        return str(self.batch_id)
