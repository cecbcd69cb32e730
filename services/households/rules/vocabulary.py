"""The register's closed vocabularies (the report's words, docs/glossary.md names)."""

from __future__ import annotations

from enum import StrEnum


class DisabilityType(StrEnum):
    """残疾类别 on the disability certificate."""

    VISUAL = "visual"
    HEARING = "hearing"
    SPEECH = "speech"
    PHYSICAL = "physical"
    INTELLECTUAL = "intellectual"
    MENTAL = "mental"
    MULTIPLE = "multiple"


class SchoolStage(StrEnum):
    """学段."""

    PRESCHOOL = "preschool"
    PRIMARY = "primary"
    JUNIOR_SECONDARY = "junior_secondary"
    SENIOR_SECONDARY = "senior_secondary"
    VOCATIONAL = "vocational"
    HIGHER = "higher"


class Enrolment(StrEnum):
    """控辍保学: enrolled, dropped out, or exempt (e.g. taught at home, 送教上门, for severe disability)."""

    ENROLLED = "enrolled"
    DROPPED_OUT = "dropped_out"
    EXEMPT = "exempt"


class LabourCapacity(StrEnum):
    """劳动能力: able (有), weak (弱), unable (无/丧失)."""

    ABLE = "able"
    WEAK = "weak"
    UNABLE = "unable"


class WaterSource(StrEnum):
    """Where drinking water comes from: piped supply (自来水), centralised supply, well, other."""

    PIPED = "piped"
    CENTRALISED = "centralised"
    WELL = "well"
    OTHER = "other"


class WaterProblem(StrEnum):
    """Drinking-water problems: quality (excess fluoride 氟超标, bacteria, turbidity), quantity, access."""

    EXCESS_FLUORIDE = "excess_fluoride"
    BACTERIA = "bacteria"
    TURBIDITY = "turbidity"
    SHORTAGE = "shortage"
    DISTANCE = "distance"


class IncomeSource(StrEnum):
    """收入来源: wages (工资性), business (经营性), transfers (转移性), project dividends (资产收益), subsidies."""

    WAGES = "wages"
    BUSINESS = "business"
    TRANSFERS = "transfers"
    PROJECT_DIVIDENDS = "project_dividends"
    SUBSIDIES = "subsidies"
    PROPERTY = "property"


class TransferKind(StrEnum):
    """Money that reaches a household from the other services: a subsidy paid (转移性收入), a share of a project's
    income (资产收益: a distribution plan's share paid by subsidies, or a share allocated before plans), or a wage
    (工资性收入: a public-welfare post's allowance paid by subsidies, a workshop's wage recorded by projects)."""

    SUBSIDY = "subsidy"
    PROJECT_INCOME = "project_income"
    WAGE = "wage"


class ReceiptStatus(StrEnum):
    """Where a transfer receipt stands: counted in the household's income, corrected (reversed or recovered, so it
    counts what is left, usually nothing), or a correction known before the payment it corrects."""

    COUNTED = "counted"
    CORRECTED = "corrected"
    AWAITING_PAYMENT = "awaiting_payment"


class MeasureKind(StrEnum):
    """Help measures (帮扶措施) in a monitoring episode."""

    MINIMUM_ALLOWANCE = "minimum_allowance"
    MEDICAL_ASSISTANCE = "medical_assistance"
    TEMPORARY_ASSISTANCE = "temporary_assistance"
    EMPLOYMENT = "employment"
    PUBLIC_WELFARE_JOB = "public_welfare_job"
    INDUSTRY = "industry"
    EDUCATION_AID = "education_aid"
    HOUSING_RENOVATION = "housing_renovation"
    INSURANCE = "insurance"
    OTHER = "other"


class EpisodeStatus(StrEnum):
    """A monitoring episode (防止返贫监测) is open until a closing decision."""

    OPEN = "open"
    CLOSED = "closed"


class AppraisalSource(StrEnum):
    """Who recorded a housing appraisal."""

    OFFICER = "officer"
    DEPARTMENT = "department"
    RENOVATION = "renovation"
    VISIT = "visit"  # graded by the visitor during a visit (入户排查)


class AreaLevel(StrEnum):
    """The levels of the district's areas, by the length of their codes: district 6, township 9, village 12."""

    DISTRICT = "district"  # 区县
    TOWNSHIP = "township"  # 乡镇/街道
    VILLAGE = "village"  # 村/社区


class DataKind(StrEnum):
    """The kinds of data departments submit (行业部门数据), each from its own department."""

    MINIMUM_ALLOWANCE = "minimum_allowance"  # 民政: 低保 / 特困供养
    CHRONIC_DISEASE = "chronic_disease"  # 卫健: 慢性病审批
    HOSPITAL_COST = "hospital_cost"  # 卫健/医保: 住院个人自付
    MEDICAL_INSURANCE = "medical_insurance"  # 医保: 参保, 代缴, 家庭医生签约
    ENROLMENT = "enrolment"  # 教育: 在校 / 辍学
    DISABILITY = "disability"  # 残联: 残疾证
    WATER = "water"  # 水利: 饮水检测
    HOUSING = "housing"  # 住建: 住房安全鉴定
    DEATH = "death"  # 民政/公安: 死亡注销
    # Compared with the register (数据比对), not stored: a 低保/特困供养 member's company, vehicle or public salary.
    MARKET_REGULATION = "market_regulation"  # 市场监管: 企业法定代表人 / 股东
    VEHICLE_REGISTRATION = "vehicle_registration"  # 公安交管: 机动车登记
    PUBLIC_PAYROLL = "public_payroll"  # 财政/人社: 财政供养人员


UNSAFE_GRADES = frozenset({"C", "D"})
SAFE_GRADES = frozenset({"A", "B"})
