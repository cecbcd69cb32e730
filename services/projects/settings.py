"""Projects service settings (environment prefix PROJECTS_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ProjectsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROJECTS_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///.local/data/projects.db"
    port: int = 8002
