"""Households service settings (environment prefix HOUSEHOLDS_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class HouseholdsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HOUSEHOLDS_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///.local/data/households.db"
    port: int = 8001
