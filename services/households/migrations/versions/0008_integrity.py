"""Integrity checks (核查比对): people with power over benefits and their relatives (blind indexes only), who approved each list that pays households, and the hits found (a relative among beneficiaries, an approval of a relative's payment, a 低保 member with a company, vehicle or public salary, a death still paid).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from shared.timeutil import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _create_approvalrecord()
    _create_integrityhit()
    _create_powerholder()
    _create_powerholderrelative()


def _create_approvalrecord() -> None:
    op.create_table(
        "approvalrecord",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=False),
        sa.Column("programme", sa.String(length=60), nullable=True),
        sa.Column("period", sa.String(length=7), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_index(op.f("ix_approvalrecord_approved_by"), "approvalrecord", ["approved_by"], unique=False)


def _create_integrityhit() -> None:
    op.create_table(
        "integrityhit",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("problem_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "member_id", "ref", name="uq_integrityhit_kind_member_ref"),
    )
    op.create_index(op.f("ix_integrityhit_household_id"), "integrityhit", ["household_id"], unique=False)


def _create_powerholder() -> None:
    op.create_table(
        "powerholder",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("post", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("area_code", sa.String(length=12), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=True),
        sa.Column("registered_by", sa.String(length=100), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id"),
    )
    op.create_index(op.f("ix_powerholder_area_code"), "powerholder", ["area_code"], unique=False)
    op.create_index(op.f("ix_powerholder_id_hash"), "powerholder", ["id_hash"], unique=False)


def _create_powerholderrelative() -> None:
    op.create_table(
        "powerholderrelative",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=False),
        sa.Column("relationship", sa.String(length=20), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["powerholder.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("holder_id", "id_hash", name="uq_powerholderrelative_holder_id_hash"),
    )
    op.create_index(op.f("ix_powerholderrelative_holder_id"), "powerholderrelative", ["holder_id"], unique=False)
    op.create_index(op.f("ix_powerholderrelative_id_hash"), "powerholderrelative", ["id_hash"], unique=False)


def downgrade() -> None:
    op.drop_table("powerholderrelative")
    op.drop_table("powerholder")
    op.drop_table("integrityhit")
    op.drop_table("approvalrecord")
