"""The district report's programmes as the catalogue starts with them (政策目录, 2020 standards): what each pays,
to whom, how often, from which fund, and the rule over households' facts that decides who is entitled.

Seeded by migration 0008, each with one version in force from 2020-01-01; the district office changes a standard by
adding a version. Every programme here has a source of facts in this platform. The report's industry awards
(产业奖补), employment subsidy (就业补贴) and temporary price subsidy (价格临时补贴) have none (no event tells
subsidies who runs an industry or found a job), so they are not seeded: a cycle, payment or check naming them is
refused as not in the catalogue, never answered "0 entitled, 0 gaps". The public-welfare-job subsidy (公益性岗位补贴)
and the shares of projects' income (资产收益分配) are decided by projects, its payrolls and distribution plans:
migration 0014 enters them, decided by projects, with no rule of their own.

Amounts, in integer fen per holder and period:
- 低保: 258 yuan a person a month (the report's 5,160 yuan a year standard, topped up per living member).
- 特困供养: 559 yuan a person a month (basic living standard at 1.3 times 低保: 6,708 yuan a year).
- 临时救助: 1,000 yuan, once, to a household under relapse-risk monitoring.
- 医疗救助: 2,000 yuan, once, to a household flagged for a large medical expense.
- 残疾人两项补贴: 80 yuan a month living subsidy (困难残疾人生活补贴) to a certified member; 100 yuan a month nursing
  subsidy (重度残疾人护理补贴) to a grade 1-2 (severely disabled) member.
- 教育资助: 500 yuan a term to a pupil enrolled from preschool to senior secondary.
- 雨露计划: 1,500 yuan a term to a student enrolled in vocational or higher education.
- 养老保险代缴: 100 yuan a year, the premium of a member aged 16-59 not in school.
- 居民医保代缴: 280 yuan a year, the 2020 individual premium of an insured member.
- 危房改造: 14,000 yuan, once, to a household whose house was appraised C or D.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from services.subsidies.rules.vocabulary import Frequency, ProgrammeUnit
from shared.contracts.subsidies import PolicyCode as P

SEEDED_BY = "catalogue-seed"
SEEDED_AT = datetime(2020, 1, 1, tzinfo=UTC)
EFFECTIVE_FROM = date(2020, 1, 1)
REASON = "the district report's 2020 standard (扶贫政策落实情况报告)"

H, M = ProgrammeUnit.HOUSEHOLD, ProgrammeUnit.MEMBER
MONTHLY, TERMLY, YEARLY, ONE_OFF = Frequency.MONTHLY, Frequency.TERMLY, Frequency.YEARLY, Frequency.ONE_OFF

CIVIL_AFFAIRS = "中央和省级困难群众救助补助资金 (民政)"
DISTRICT_FUND = "区级专项扶贫资金"
LINKED_FUND = "中央和省级财政衔接推进乡村振兴补助资金"


def _c(fact: str, op: str, value: Any) -> dict[str, Any]:
    return {"fact": fact, "op": op, "value": value}


# Every programme's rule asks first that the household still receives policies (脱贫不享受政策 ends them all).
RECEIVES_POLICIES = _c("household.status", "ne", "exited_no_policies")
ALIVE = _c("member.alive", "eq", True)
ENROLLED = _c("member.enrolment", "eq", "enrolled")


@dataclass(frozen=True)
class SeedProgramme:
    """A programme of the report with its first version."""

    code: P
    name: str
    unit: ProgrammeUnit
    frequency: Frequency
    funding_source: str
    amount_fen: int
    per_member: bool
    rule: tuple[dict[str, Any], ...]


REPORT_CATALOGUE: tuple[SeedProgramme, ...] = (
    SeedProgramme(P.DIBAO, "农村最低生活保障 (低保)", H, MONTHLY, CIVIL_AFFAIRS, 25_800, True,
                  (_c("household.allowance", "eq", "dibao"), RECEIVES_POLICIES)),
    SeedProgramme(P.EXTREME_POVERTY_SUPPORT, "特困人员救助供养 (特困供养)", H, MONTHLY, CIVIL_AFFAIRS, 55_900, True,
                  (_c("household.allowance", "eq", "extreme_poverty"), RECEIVES_POLICIES)),
    SeedProgramme(P.TEMPORARY_ASSISTANCE, "临时救助", H, ONE_OFF, "区级临时救助资金 (民政)", 100_000, False,
                  (_c("household.monitoring_open", "eq", True), RECEIVES_POLICIES)),
    SeedProgramme(P.MEDICAL_AID, "医疗救助", H, ONE_OFF, "城乡医疗救助基金 (医保)", 200_000, False,
                  (_c("household.risk_kinds", "contains", "large_medical_expense"), RECEIVES_POLICIES)),
    SeedProgramme(P.DISABILITY_LIVING_SUBSIDY, "困难残疾人生活补贴 (残疾人两项补贴)", M, MONTHLY,
                  "残疾人两项补贴资金 (民政, 残联)", 8_000, False,
                  (_c("member.disability_grade", "gte", 1), ALIVE, RECEIVES_POLICIES)),
    SeedProgramme(P.DISABILITY_NURSING_SUBSIDY, "重度残疾人护理补贴 (残疾人两项补贴)", M, MONTHLY,
                  "残疾人两项补贴资金 (民政, 残联)", 10_000, False,
                  (_c("member.disability_grade", "lte", 2), ALIVE, RECEIVES_POLICIES)),
    SeedProgramme(P.EDUCATION_AID, "教育资助", M, TERMLY, "中央和省级学生资助资金 (教育)", 50_000, False,
                  (ENROLLED,
                   _c("member.school_stage", "in", ["preschool", "primary", "junior_secondary", "senior_secondary"]),
                   RECEIVES_POLICIES)),
    SeedProgramme(P.RAIN_AND_DEW_EDUCATION_AID, "雨露计划", M, TERMLY, LINKED_FUND, 150_000, False,
                  (ENROLLED, _c("member.school_stage", "in", ["vocational", "higher"]), RECEIVES_POLICIES)),
    SeedProgramme(P.PENSION_PREMIUM_SUBSIDY, "城乡居民基本养老保险代缴", M, YEARLY, DISTRICT_FUND, 10_000, False,
                  (_c("member.age", "gte", 16), _c("member.age", "lt", 60), _c("member.enrolment", "ne", "enrolled"),
                   ALIVE, RECEIVES_POLICIES)),
    SeedProgramme(P.HEALTH_INSURANCE_PREMIUM_SUBSIDY, "城乡居民基本医疗保险个人缴费补贴", M, YEARLY,
                  "城乡医疗救助基金 (医保)", 28_000, False,
                  (_c("member.medical_insured", "eq", True), ALIVE, RECEIVES_POLICIES)),
    SeedProgramme(P.DANGEROUS_HOUSE_RENOVATION, "农村危房改造", H, ONE_OFF, "中央和省级农村危房改造补助资金 (住建)",
                  1_400_000, False, (_c("household.housing_grade", "in", ["C", "D"]), RECEIVES_POLICIES)),
)  # fmt: skip

# The report's programmes with no source of facts here: not in the catalogue (see above).
WITHOUT_FACTS = frozenset({P.INDUSTRY_AWARD, P.EMPLOYMENT_SUBSIDY, P.TEMPORARY_PRICE_SUBSIDY})
# The programmes projects decides, paid from its approved payrolls and plans (migration 0014).
DECIDED_BY_PROJECTS = frozenset({P.PUBLIC_WELFARE_JOB_SUBSIDY, P.PROJECT_INCOME_SHARE})
