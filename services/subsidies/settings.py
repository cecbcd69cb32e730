"""Subsidies service settings (environment prefix SUBSIDIES_)."""

from __future__ import annotations

import base64

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.subsidies.rules.payee_vault import PayeeVault, parse_hmac_key, parse_keys
from shared.settings import ServiceSettings

# Development-only payee keys, refused in production below (like the development JWT secret).
DEV_PAYEE_KID = "dev-1"
DEV_PAYEE_KEY = base64.b64encode(b"dev-only-payee-aes-key-32-bytes!").decode()
DEV_PAYEE_HMAC_KEY = base64.b64encode(b"dev-only-payee-hmac-key-at-least-32-bytes").decode()


class SubsidiesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SUBSIDIES_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///.local/data/subsidies.db"
    port: int = 8003
    notice_days: int = Field(
        default=7, ge=1, description="公示期: the fewest days a cycle's list is on public notice, both ends included"
    )
    coverage_check_interval_seconds: int = Field(
        default=3600,
        ge=0,
        description="how often paid and closed cycles get a scheduled coverage and leakage check (0: never)",
    )
    coverage_check_days: int = Field(
        default=92,
        ge=1,
        description="how long after a cycle was paid or closed it keeps getting scheduled checks (older: on demand)",
    )
    payee_keys: SecretStr = Field(
        default=SecretStr(f"{DEV_PAYEE_KID}:{DEV_PAYEE_KEY}"),
        description="AES-GCM keys for payee accounts and names: JSON {kid: base64} or kid:base64,kid2:base64",
    )
    payee_active_kid: str = Field(default=DEV_PAYEE_KID, description="key id new payee ciphertexts are written under")
    payee_hmac_key: SecretStr = Field(
        default=SecretStr(DEV_PAYEE_HMAC_KEY),
        description="base64 HMAC-SHA256 key (>= 32 bytes) of the account numbers' blind index",
    )

    @model_validator(mode="after")
    def _check_payee_keys(self) -> SubsidiesSettings:
        keys = parse_keys(self.payee_keys.get_secret_value())
        hmac_key = parse_hmac_key(self.payee_hmac_key.get_secret_value())
        if self.payee_active_kid not in keys:
            raise ValueError("payee_active_kid must name one of payee_keys")
        if self.environment == "prod":
            if base64.b64decode(DEV_PAYEE_KEY) in keys.values():
                raise ValueError("payee_keys holds the development key; set real keys in production")
            if hmac_key == base64.b64decode(DEV_PAYEE_HMAC_KEY):
                raise ValueError("payee_hmac_key is the development default; set a real key in production")
        return self

    def payee_vault(self) -> PayeeVault:
        """The vault that seals and opens payee accounts with these keys."""
        return PayeeVault(
            parse_keys(self.payee_keys.get_secret_value()),
            self.payee_active_kid,
            parse_hmac_key(self.payee_hmac_key.get_secret_value()),
        )
