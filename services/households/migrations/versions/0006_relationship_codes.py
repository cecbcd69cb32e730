"""A member's relationship to the head is one of the published codes (`Relationship`), no longer free text.

Values already stored are mapped to their code (the common Chinese terms included); a value no code names becomes
`other`, and the household's history keeps what it was, so nothing typed is lost.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The codes as this revision knows them (a migration does not follow later changes of the enum).
CODES = (
    "head",
    "spouse",
    "son",
    "daughter",
    "son_in_law",
    "daughter_in_law",
    "grandchild",
    "parent",
    "parent_in_law",
    "grandparent",
    "sibling",
    "other",
)
TERMS = {
    "head": ("户主", "本人"),
    "spouse": ("配偶", "妻", "妻子", "夫", "丈夫", "wife", "husband"),
    "son": ("子", "儿子", "长子", "次子", "三子", "独生子"),
    "daughter": ("女", "女儿", "长女", "次女", "三女", "独生女"),
    "son_in_law": ("女婿",),
    "daughter_in_law": ("儿媳", "媳妇"),
    "grandchild": ("孙子", "孙女", "外孙", "外孙子", "外孙女", "grandson", "granddaughter"),
    "parent": ("父亲", "母亲", "父", "母", "父母", "father", "mother"),
    "parent_in_law": ("公公", "婆婆", "岳父", "岳母"),
    "grandparent": ("祖父", "祖母", "外祖父", "外祖母", "爷爷", "奶奶"),
    "sibling": ("兄", "弟", "姐", "妹", "哥哥", "弟弟", "姐姐", "妹妹", "brother", "sister"),
}
CODE_OF = {term: code for code, terms in TERMS.items() for term in terms}

member = sa.table(
    "member", sa.column("id", sa.Uuid()), sa.column("household_id", sa.Uuid()), sa.column("relationship_to_head")
)
change = sa.table(
    "householdchange",
    sa.column("household_id", sa.Uuid()),
    sa.column("changed_at", sa.DateTime(timezone=True)),
    sa.column("actor"),
    sa.column("action"),
    sa.column("changes"),
)


def code_of(value: str) -> str:
    text = value.strip()
    if text.lower() in CODES:
        return text.lower()
    return CODE_OF.get(text, CODE_OF.get(text.lower(), "other"))


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(member).where(member.c.relationship_to_head.not_in(CODES))).all()
    now = datetime.now(UTC)
    for member_id, household_id, value in rows:
        code = code_of(value)
        bind.execute(sa.update(member).where(member.c.id == member_id).values(relationship_to_head=code))
        changes = {"member_id": str(member_id), "relationship_to_head": [value, code]}
        bind.execute(
            sa.insert(change).values(
                household_id=household_id,
                changed_at=now,
                actor="migration-0006",
                action="member.relationship_coded",
                changes=json.dumps(changes, ensure_ascii=False),
            )
        )


def downgrade() -> None:
    """The codes are valid free text: nothing to undo."""
