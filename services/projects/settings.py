"""Projects service settings (environment prefix PROJECTS_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ProjectsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROJECTS_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///.local/data/projects.db"
    port: int = 8002
    income_distribution_days: int = Field(
        default=90, ge=1, description="an income with no approved plan this many days after it arrived is a finding"
    )
    check_interval_seconds: float = Field(
        default=3600, gt=0, description="how often the scheduled checks (overdue, expired, below return) run"
    )
