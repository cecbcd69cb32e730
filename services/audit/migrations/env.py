"""Alembic environment of the audit service."""

from services.audit.settings import AuditSettings
from shared.migrations import run_env

run_env(AuditSettings().database_url)
