"""Households service settings (environment prefix HOUSEHOLDS_), and what the domain derives from them once per
process (`HouseholdsConfig`: the ID-card vault, the known areas, the thresholds)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.households.rules.idcard import IdCardVault, parse_hmac_key, parse_keys
from services.households.rules.limits import DEPARTMENT_MAX_ROWS_CEILING
from shared.areas import township_of
from shared.errors import InvalidInput
from shared.settings import ServiceSettings

# Development-only keys, refused in production below (like the development JWT secret).
DEV_IDCARD_KID = "dev-1"
DEV_IDCARD_KEY = base64.b64encode(b"dev-only-idcard-aes-key-32-bytes").decode()
DEV_IDCARD_KEYS = f"{DEV_IDCARD_KID}:{DEV_IDCARD_KEY}"
DEV_IDCARD_HMAC_KEY = base64.b64encode(b"dev-only-idcard-hmac-key-at-least-32-bytes").decode()
# The townships 茌平区's 2020 report names (codes as in the demo data; set the real list per district).
DEFAULT_TOWNSHIPS = {
    "371523101": "贾寨镇",
    "371523102": "冯屯镇",
    "371523103": "博平镇",
    "371523104": "胡屯镇",
    "371523105": "温陈街道",
}


class HouseholdsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HOUSEHOLDS_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///.local/data/households.db"
    port: int = 8001
    idcard_keys: SecretStr = Field(
        default=SecretStr(DEV_IDCARD_KEYS),
        description="AES-GCM keys for ID-card numbers: JSON {kid: base64} or kid:base64,kid2:base64",
    )
    idcard_active_kid: str = Field(default=DEV_IDCARD_KID, description="key id new ciphertexts are written under")
    idcard_hmac_key: SecretStr = Field(
        default=SecretStr(DEV_IDCARD_HMAC_KEY), description="base64 HMAC-SHA256 key (>= 32 bytes) for look-ups"
    )
    townships: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_TOWNSHIPS),
        description="known townships (乡镇/街道) of the district: 9-digit code -> name",
    )
    large_medical_expense_fen: int = Field(
        default=1_000_000, gt=0, description="yearly out-of-pocket medical cost that flags relapse risk (fen)"
    )
    renovation_days: int = Field(default=90, ge=1, description="default deadline for renovating a C/D house")
    department_max_rows: int = Field(
        default=5000, ge=1, le=DEPARTMENT_MAX_ROWS_CEILING, description="rows per department bulk call (413 above)"
    )

    @model_validator(mode="after")
    def _check_idcard_keys(self) -> HouseholdsSettings:
        keys = parse_keys(self.idcard_keys.get_secret_value())
        hmac_key = parse_hmac_key(self.idcard_hmac_key.get_secret_value())
        if self.idcard_active_kid not in keys:
            raise ValueError("idcard_active_kid must name one of idcard_keys")
        if self.environment == "prod":
            if base64.b64decode(DEV_IDCARD_KEY) in keys.values():
                raise ValueError("idcard_keys holds the development key; set real keys in production")
            if hmac_key == base64.b64decode(DEV_IDCARD_HMAC_KEY):
                raise ValueError("idcard_hmac_key is the development default; set a real key in production")
        if any(not code.startswith(self.district_code) or len(code) != 9 for code in self.townships):
            raise ValueError("every township code must be 9 digits within the district code")
        return self


@dataclass(frozen=True)
class KnownAreas:
    """The district and its townships (乡镇/街道); a village is known when its township is."""

    district_code: str
    townships: Mapping[str, str]

    def is_known_area(self, area_code: str) -> bool:
        """A district code, a known township, or a village of a known township."""
        return area_code == self.district_code or township_of(area_code) in self.townships


@dataclass(frozen=True)
class HouseholdsConfig:
    """What the domain needs from the settings, built once per process (no I/O): the ID-card vault, the known
    areas and the thresholds."""

    vault: IdCardVault
    district_code: str
    townships: Mapping[str, str]
    large_medical_expense_fen: int
    renovation_days: int
    department_max_rows: int

    @classmethod
    def from_settings(cls, settings: HouseholdsSettings) -> HouseholdsConfig:
        vault = IdCardVault(
            parse_keys(settings.idcard_keys.get_secret_value()),
            settings.idcard_active_kid,
            parse_hmac_key(settings.idcard_hmac_key.get_secret_value()),
        )
        return cls(
            vault=vault,
            district_code=settings.district_code,
            townships=dict(settings.townships),
            large_medical_expense_fen=settings.large_medical_expense_fen,
            renovation_days=settings.renovation_days,
            department_max_rows=settings.department_max_rows,
        )

    @property
    def areas(self) -> KnownAreas:
        return KnownAreas(self.district_code, self.townships)

    def is_known_area(self, area_code: str) -> bool:
        """A district code, a known township, or a village of a known township."""
        return self.areas.is_known_area(area_code)

    def ensure_known_area(self, area_code: str) -> None:
        if not self.is_known_area(area_code):
            raise InvalidInput("The area code is not a known township or village of this district.")

    def area_name(self, area_code: str) -> str | None:
        return self.townships.get(area_code)
