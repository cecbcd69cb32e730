"""Alembic environment of the audit service.

Migrations run as the schema's owner (`migration_url`); when that is another role than the service's, the service's
role is named to the migrations as the log's writer (`ledger_writer`), which may only insert into the log and read it.
"""

from alembic import context

from services.audit.settings import AuditSettings
from shared.migrations import run_env

settings = AuditSettings()
context.config.attributes.setdefault("ledger_writer", settings.ledger_writer_role())
run_env(settings.migration_url())
