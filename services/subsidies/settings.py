"""Subsidies service settings (environment prefix SUBSIDIES_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

# The programmes of the district's report (政策目录), named as in the glossary.
DEFAULT_POLICY_CODES = frozenset(
    {
        "dibao",  # 低保 minimum living allowance
        "extreme_poverty_support",  # 特困供养
        "temporary_assistance",  # 临时救助
        "disability_living_subsidy",  # 残疾人两项补贴: living subsidy of the poor disabled
        "disability_nursing_subsidy",  # 残疾人两项补贴: nursing subsidy of the severely disabled
        "education_aid",  # 教育资助
        "rain_and_dew_education_aid",  # 雨露计划
        "medical_aid",  # 医疗救助
        "health_insurance_premium_subsidy",  # 居民医保补贴 / 代缴
        "pension_premium_subsidy",  # 养老保险代缴
        "dangerous_house_renovation",  # 危房改造
        "industry_award",  # 产业奖补
        "employment_subsidy",  # 就业补贴
        "public_welfare_job_subsidy",  # 公益性岗位补贴
        "temporary_price_subsidy",  # 价格临时补贴
    }
)


class SubsidiesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SUBSIDIES_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///.local/data/subsidies.db"
    port: int = 8003
    policy_codes: frozenset[str] = Field(
        default=DEFAULT_POLICY_CODES, description="the policy catalogue: codes a payment may name (JSON list)"
    )
