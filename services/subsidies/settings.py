"""Subsidies service settings (environment prefix SUBSIDIES_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.contracts.subsidies import PolicyCode
from shared.settings import ServiceSettings


class SubsidiesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SUBSIDIES_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///.local/data/subsidies.db"
    port: int = 8003
    # A code outside `PolicyCode` is refused at start-up: the API publishes the codes it may ever accept.
    policy_codes: frozenset[PolicyCode] = Field(
        default=frozenset(PolicyCode),
        description="the policy catalogue: the codes of `PolicyCode` this deployment pays and checks (JSON list)",
    )
