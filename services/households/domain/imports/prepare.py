"""The CPU part of an import: parse and validate rows, hash and encrypt ID
numbers, and build the rows a new household would insert (household, members, history) and the event it
publishes (turned into outbox rows by `services.households.events`).

The writer uses these rows as they are in the common case (a new household, all members new) and rebuilds
the few that change otherwise (an existing household, a member already present).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from services.households.domain.imports.rows import MemberRow, RowError, RowParser, households
from services.households.rules.idcard import IdCardVault, mask
from services.households.rules.members import member_added
from services.households.settings import KnownAreas
from shared.contracts.households import HouseholdRegistered, MemberAdded
from shared.ids import uuid7

Row = dict[str, Any]
RawRow = tuple[int, list[str]]


@dataclass
class PreparedMember:
    line: int
    keyed_hash: str
    row: Row  # the member table's row; `household_id` is the unit's new household id


@dataclass
class PreparedUnit:
    """A household of the file with the rows registering it would write."""

    code: str
    area_code: str
    head_name: str
    household_id: UUID
    members: list[PreparedMember] = field(default_factory=list)


@dataclass
class PreparedChunk:
    units: list[PreparedUnit]
    errors: list[RowError]


def change_row(household_id: UUID, action: str, changes: Mapping[str, Any], *, actor: str, now: datetime) -> Row:
    return {
        "household_id": household_id,
        "changed_at": now,
        "actor": actor,
        "action": action,
        "changes": json.dumps(changes, ensure_ascii=False),
    }


def household_row(unit: PreparedUnit, now: datetime) -> Row:
    return {
        "id": unit.household_id,
        "household_code": unit.code,
        "area_code": unit.area_code,
        "head_name": unit.head_name,
        "registered_at": now,
        "status": "in_poverty",
        "helper_cadre_id": None,
        "minimum_allowance": "none",
        "housing_grade": None,
        "housing_appraised_on": None,
        "water_safe": None,
        "water_checked_on": None,
    }


def registration(
    unit: PreparedUnit, member_count: int, *, actor: str, now: datetime
) -> tuple[Row, HouseholdRegistered]:
    """The history entry and the event of registering `unit` with `member_count` members."""
    changes = {"household_code": unit.code, "area_code": unit.area_code, "members": member_count, "via": "import"}
    event = HouseholdRegistered(
        household_id=unit.household_id, household_code=unit.code, area_code=unit.area_code, member_count=member_count
    )
    return change_row(unit.household_id, "household.registered", changes, actor=actor, now=now), event


def addition(household_id: UUID, member: Row, *, actor: str, now: datetime) -> tuple[Row, MemberAdded]:
    """The history entry and the event of adding a member to an existing household."""
    changes = {"member_id": str(member["id"]), "via": "import"}
    return change_row(household_id, "member.added", changes, actor=actor, now=now), member_added(household_id, member)


def member_row(household_id: UUID, row: MemberRow, vault: IdCardVault) -> Row:
    """The member's row: the number encrypted under the active key (bound to the member id), masked."""
    member_id = uuid7()
    kid, ciphertext = vault.encrypt(row.id_number, member_id=member_id)
    return {
        "id": member_id,
        "household_id": household_id,
        "name": row.name,
        "relationship_to_head": row.relationship_to_head,
        "birth_date": row.birth_date,
        "id_kid": kid,
        "id_ciphertext": ciphertext,
        "id_hash": vault.keyed_hash(row.id_number),
        "id_masked": mask(row.id_number),
        "disability_certified_on": None,
        "chronic_disease": None,
        "chronic_disease_approved_on": None,
        "school_name": None,
        "premium_subsidised": False,
        "family_doctor_contract": False,
        **row.facts,
    }


class Preparer:
    """Turns raw CSV rows (whole households) into prepared units and row errors."""

    def __init__(self, vault: IdCardVault, areas: KnownAreas, header: list[str], today: date) -> None:
        self.vault = vault
        self.parser = RowParser(header, areas=areas, today=today)

    def prepare(self, rows: list[RawRow]) -> PreparedChunk:
        errors: list[RowError] = []
        units = []
        for unit in households(rows, self.parser, errors=errors):
            prepared = PreparedUnit(unit.code, unit.area_code, unit.head_name, uuid7())
            for m in unit.members:
                row = member_row(prepared.household_id, m, self.vault)
                prepared.members.append(PreparedMember(m.line, row["id_hash"], row))
            units.append(prepared)
        return PreparedChunk(units, errors)
