"""Audit service settings (environment prefix AUDIT_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///.local/data/audit.db"
    port: int = 8004
    deadline_days_general: int = Field(default=30, ge=1, description="rectification deadline for general findings")
    deadline_days_serious: int = Field(default=15, ge=1)
    deadline_days_severe: int = Field(default=7, ge=1)
