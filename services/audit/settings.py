"""Audit service settings (environment prefix AUDIT_), and the deadline policy derived from them."""

from __future__ import annotations

import base64

from pydantic import Field, HttpUrl, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from sqlalchemy.engine import make_url

from services.audit.rules.contact_vault import ContactVault, parse_keys
from services.audit.rules.findings import DeadlinePolicy
from shared.settings import ServiceSettings

MIN_WEBHOOK_SECRET = 32  # characters of a production webhook secret
# Development-only key of complainants' contacts, refused in production (like subsidies' payee keys).
DEV_CONTACT_KID = "dev-1"
DEV_CONTACT_KEY = base64.b64encode(b"dev-only-grievance-contact-key!!").decode()


class AuditSettings(ServiceSettings):
    # No setting's value in a refusal: the webhook's secret must not reach a log through a start-up error.
    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore", hide_input_in_errors=True)

    database_url: str = "sqlite+aiosqlite:///.local/data/audit.db"
    port: int = 8004
    deadline_days_general: int = Field(default=30, ge=1, description="rectification deadline for general findings")
    deadline_days_serious: int = Field(default=15, ge=1)
    deadline_days_severe: int = Field(default=7, ge=1)
    due_soon_days: int = Field(default=2, ge=0, description="remind the owner this many days before the deadline")
    late_report_days: int = Field(
        default=7, ge=0, description="a problem reported more days than this after it was found is late (迟报)"
    )
    overdue_scan_interval_s: float = Field(
        default=60.0, gt=0, description="how often the scheduled checks (reminders, overdue, weekly handover) run"
    )
    scan_batch_size: int = Field(default=100, ge=1, le=1000, description="tasks claimed per check transaction")
    coverage_check_interval_s: float = Field(
        default=3600.0, gt=0, description="how often ended campaigns' coverage is judged (全覆盖), once per campaign"
    )
    webhook_url: HttpUrl | None = Field(
        default=None, description="the government messaging system's webhook; none: notifications stay in the inbox"
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="signs each delivery (HMAC-SHA256); required with webhook_url"
    )
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=60, description="the longest one delivery may take")
    webhook_max_attempts: int = Field(default=8, ge=1, le=100, description="attempts before a notification is dead")
    webhook_backoff_s: float = Field(default=30.0, gt=0, description="first retry delay, doubling, at most an hour")
    webhook_interval_s: float = Field(default=5.0, gt=0, description="how often due notifications are delivered")
    webhook_batch: int = Field(default=50, ge=1, le=500, description="notifications claimed per delivery round")
    grievance_response_days: int = Field(
        default=15, ge=1, le=90, description="days a complainant is answered within (信访: 15), from the day received"
    )
    grievance_check_interval_s: float = Field(
        default=3600.0, gt=0, description="how often grievances past their reply's deadline are looked for"
    )
    grievance_contact_keys: SecretStr = Field(
        default=SecretStr(f"{DEV_CONTACT_KID}:{DEV_CONTACT_KEY}"),
        description="AES-GCM keys of complainants' contacts: JSON {kid: base64} or kid:base64,kid2:base64",
    )
    grievance_contact_active_kid: str = Field(
        default=DEV_CONTACT_KID, description="key id new contacts are sealed under"
    )
    ledger_anchor_interval_s: float = Field(
        default=3600.0, gt=0, description="the log's head is anchored (published) at least this often while it grows"
    )
    ledger_anchor_entries: int = Field(
        default=1000, ge=1, description="and as soon as this many entries were appended since the last anchor"
    )

    def ledger_writer_role(self) -> str | None:
        """The service's database role when migrations run as another one (the owner, `migration_database_url`),
        which may then only insert into and read the tamper-evident log; None when they share it."""
        if self.migration_database_url is None:
            return None
        service_role = make_url(self.database_url).username
        return service_role if service_role != make_url(self.migration_database_url).username else None

    @model_validator(mode="after")
    def _webhook_signed(self) -> AuditSettings:
        if self.webhook_url is None:
            return self
        if self.webhook_secret is None:
            raise ValueError("webhook_url needs a webhook_secret to sign its deliveries")
        secret = self.webhook_secret.get_secret_value()
        if self.environment == "prod" and len(secret) < MIN_WEBHOOK_SECRET:
            raise ValueError(f"webhook_secret must be at least {MIN_WEBHOOK_SECRET} characters in production")
        return self

    def deadline_policy(self) -> DeadlinePolicy:
        """The district's rectification terms by severity."""
        return DeadlinePolicy(
            self.deadline_days_general, self.deadline_days_serious, self.deadline_days_severe, self.late_report_days
        )

    @model_validator(mode="after")
    def _check_contact_keys(self) -> AuditSettings:
        keys = parse_keys(self.grievance_contact_keys.get_secret_value())
        if self.grievance_contact_active_kid not in keys:
            raise ValueError("grievance_contact_active_kid must name one of grievance_contact_keys")
        if self.environment == "prod" and base64.b64decode(DEV_CONTACT_KEY) in keys.values():
            raise ValueError("grievance_contact_keys holds the development key; set real keys in production")
        return self

    def contact_vault(self) -> ContactVault:
        """The vault that seals and opens complainants' contacts with these keys."""
        return ContactVault(
            parse_keys(self.grievance_contact_keys.get_secret_value()), self.grievance_contact_active_kid
        )
