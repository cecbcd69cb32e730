"""Data only: the district report's programmes enter the catalogue (政策目录), each with its 2020 standard and the
rule over households' facts that decides who is entitled (`rules/report_catalogue.py`).

Idempotent: a programme already in the catalogue (entered by the district office, or seeded before) is left as it
is. Versions get fixed ids (derived from the code), so every database seeds the same rows.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from uuid import NAMESPACE_URL, UUID, uuid5

import sqlalchemy as sa
from alembic import op

import shared.timeutil
from services.subsidies.rules.report_catalogue import (
    EFFECTIVE_FROM,
    REASON,
    REPORT_CATALOGUE,
    SEEDED_AT,
    SEEDED_BY,
)

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

programme = sa.table(
    "programme",
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("unit", sa.String),
    sa.column("frequency", sa.String),
    sa.column("funding_source", sa.String),
    sa.column("created_by", sa.String),
    sa.column("created_at", shared.timeutil.UTCDateTime()),
)
version = sa.table(
    "programmeversion",
    sa.column("id", sa.Uuid),
    sa.column("programme_code", sa.String),
    sa.column("version", sa.Integer),
    sa.column("effective_from", sa.Date),
    sa.column("amount_fen", sa.BigInteger),
    sa.column("per_member", sa.Boolean),
    sa.column("rule", sa.JSON),
    sa.column("reason", sa.String),
    sa.column("created_by", sa.String),
    sa.column("created_at", shared.timeutil.UTCDateTime()),
)


def seeded_version_id(code: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"urn:poverty:subsidies:programme:{code}:version:1")


def upgrade() -> None:
    present = set(op.get_bind().scalars(sa.select(programme.c.code)).all())
    missing = [p for p in REPORT_CATALOGUE if p.code.value not in present]
    if not missing:
        return
    op.bulk_insert(
        programme,
        [
            {
                "code": p.code.value,
                "name": p.name,
                "unit": p.unit.value,
                "frequency": p.frequency.value,
                "funding_source": p.funding_source,
                "created_by": SEEDED_BY,
                "created_at": SEEDED_AT,
            }
            for p in missing
        ],
    )
    op.bulk_insert(
        version,
        [
            {
                "id": seeded_version_id(p.code.value),
                "programme_code": p.code.value,
                "version": 1,
                "effective_from": EFFECTIVE_FROM,
                "amount_fen": p.amount_fen,
                "per_member": p.per_member,
                "rule": list(p.rule),
                "reason": REASON,
                "created_by": SEEDED_BY,
                "created_at": SEEDED_AT,
            }
            for p in missing
        ],
    )


def downgrade() -> None:
    """The seeded programmes and their seeded versions go; what the district office entered stays."""
    op.execute(version.delete().where(version.c.created_by == SEEDED_BY))
    op.execute(
        programme.delete().where(
            programme.c.created_by == SEEDED_BY,
            ~sa.exists().where(version.c.programme_code == programme.c.code),
        )
    )
