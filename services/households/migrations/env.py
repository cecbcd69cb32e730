"""Alembic environment of the households service."""

from services.households.settings import HouseholdsSettings
from shared.migrations import run_env

run_env(HouseholdsSettings().migration_url())
