"""Alembic environment of the projects service."""

from services.projects.settings import ProjectsSettings
from shared.migrations import run_env

run_env(ProjectsSettings().migration_url())
