"""Subsidies service settings (environment prefix SUBSIDIES_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class SubsidiesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SUBSIDIES_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///.local/data/subsidies.db"
    port: int = 8003
