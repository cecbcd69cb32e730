"""Alembic environment of the subsidies service."""

from services.subsidies.settings import SubsidiesSettings
from shared.migrations import run_env

run_env(SubsidiesSettings().migration_url())
