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


UNSAFE_GRADES = frozenset({"C", "D"})
SAFE_GRADES = frozenset({"A", "B"})
