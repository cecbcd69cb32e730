"""What the domain needs from settings, built once per process: the ID-card vault, areas and thresholds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.households.idcard import IdCardVault, parse_hmac_key, parse_keys
from services.households.settings import HouseholdsSettings
from shared.areas import township_of
from shared.errors import InvalidInput


@dataclass(frozen=True)
class KnownAreas:
    """The district and its townships (乡镇/街道); a village is known when its township is."""

    district_code: str
    townships: Mapping[str, str]

    def is_known_area(self, area_code: str) -> bool:
        """A district code, a known township, or a village of a known township."""
        return area_code == self.district_code or township_of(area_code) in self.townships


@dataclass(frozen=True)
class RegistryConfig:
    """The district's registry configuration (no I/O): keys, known townships, monitoring thresholds."""

    vault: IdCardVault
    district_code: str
    townships: Mapping[str, str]
    large_medical_expense_fen: int
    renovation_days: int
    department_max_rows: int

    @classmethod
    def from_settings(cls, settings: HouseholdsSettings) -> RegistryConfig:
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
