"""On PostgreSQL, ID-number hashes (a member's, a power holder's, a relative's) are stored as their 32 bytes, no
longer as 64 hexadecimal characters: the unique index on members' hashes holds one random key a member, and at
3,000,000 members it was 364 MB as text and outgrew the database's cache (172 MB as bytes). SQLite keeps the text
(see `shared.sealing.KeyedDigest`): nothing to do there.

Each table is rewritten under an exclusive lock and its indexes rebuilt: about ten seconds for 3,000,000 members on
a development machine. Plan it in a quiet hour for a register of millions.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("member", "powerholder", "powerholderrelative")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN id_hash TYPE bytea USING decode(id_hash, 'hex')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN id_hash TYPE varchar(64) USING encode(id_hash, 'hex')")
