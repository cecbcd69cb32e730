"""Audit service settings (environment prefix AUDIT_), and the deadline policy derived from them."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.audit.rules.findings import DeadlinePolicy
from shared.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///.local/data/audit.db"
    port: int = 8004
    deadline_days_general: int = Field(default=30, ge=1, description="rectification deadline for general findings")
    deadline_days_serious: int = Field(default=15, ge=1)
    deadline_days_severe: int = Field(default=7, ge=1)
    due_soon_days: int = Field(default=2, ge=0, description="remind the owner this many days before the deadline")
    overdue_scan_interval_s: float = Field(
        default=60.0, gt=0, description="how often the scheduled checks (reminders, overdue, weekly handover) run"
    )
    scan_batch_size: int = Field(default=100, ge=1, le=1000, description="tasks claimed per check transaction")

    def deadline_policy(self) -> DeadlinePolicy:
        """The district's rectification terms by severity."""
        return DeadlinePolicy(self.deadline_days_general, self.deadline_days_serious, self.deadline_days_severe)
