"""Members (家庭成员) and their facts: disability, chronic disease, schooling, labour, medical cover.

Every change is diffed into the history and published; the facts other services decide from get their own
events, a dropout is a problem for audit, and a newly certified disability flags relapse risk.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import partial
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from services.households import history, idnumbers, monitoring
from services.households.events import publish
from services.households.guarantees import is_school_age
from services.households.idcard import IdCardVault
from services.households.models import Household, Member
from services.households.problems import problem_event
from services.households.vocabulary import Enrolment
from shared.contracts import IntegrationEvent
from shared.contracts.households import (
    MemberAdded,
    MemberChronicDiseaseApproved,
    MemberDisabilityRecorded,
    MemberMedicalCoverageChanged,
    MemberSchoolingChanged,
    MemberUpdated,
    ProblemCategory,
    RiskKind,
)
from shared.errors import InvalidInput

DISABILITY = ("disability_type", "disability_grade", "disability_certified_on")
CHRONIC = ("chronic_disease", "chronic_disease_approved_on")
SCHOOLING = ("school_stage", "school_name", "enrolment")
MEDICAL = ("medical_insured", "premium_subsidised", "family_doctor_contract")
DROPOUT = "A member of compulsory-school age has dropped out (控辍保学)."
LOST_COVER = "A member lost basic medical insurance cover."
FACTS = (*DISABILITY, *CHRONIC, *SCHOOLING, "labour_capacity", *MEDICAL)
EDITABLE = ("name", "relationship_to_head", "birth_date", *FACTS)
REQUIRED = ("name", "relationship_to_head", "birth_date", *MEDICAL)
# The facts of a member nobody has recorded anything about (what a new member is compared with).
BLANK: dict[str, Any] = {**dict.fromkeys((*EDITABLE, "id_number")), **dict.fromkeys(MEDICAL, False)}


def fact_errors(values: Mapping[str, Any]) -> list[str]:
    """Facts that contradict each other (pure)."""
    errors = []
    if len({values.get(k) is None for k in DISABILITY}) > 1:
        errors.append("disability type, grade and certificate date go together")
    if len({values.get(k) is None for k in CHRONIC}) > 1:
        errors.append("a chronic disease and its approval date go together")
    if values.get("premium_subsidised") and not values.get("medical_insured"):
        errors.append("a subsidised premium needs basic medical insurance")
    born = values.get("birth_date")
    for field, what in (
        ("disability_certified_on", "a disability cannot be certified"),
        ("chronic_disease_approved_on", "a chronic disease cannot be approved"),
    ):
        if born is not None and values.get(field) is not None and values[field] < born:
            errors.append(f"{what} before the member was born")
    return errors


def snapshot(member: Member) -> dict[str, Any]:
    """The member's editable facts, with the ID number only in its masked form."""
    return {**{k: getattr(member, k) for k in EDITABLE}, "id_number": member.id_masked}


def _ensure_consistent(member: Member) -> None:
    errors = fact_errors(snapshot(member))
    if errors:
        raise InvalidInput("The member's facts contradict each other: " + "; ".join(errors) + ".")


def build_member(household_id: Any, values: Mapping[str, Any], vault: IdCardVault) -> Member:
    """A new member from validated values (`id_number` a canonical number or None); not yet added."""
    fields = {k: values[k] for k in EDITABLE if k in values}
    member = Member(id=uuid4(), household_id=household_id, **fields)
    _ensure_consistent(member)
    number = values.get("id_number")
    if number:
        idnumbers.check_birth_date(number, member.birth_date)
        idnumbers.seal_into(member, number, vault)
    return member


async def add_member(
    session: AsyncSession,
    household: Household,
    values: Mapping[str, Any],
    *,
    actor: str,
    vault: IdCardVault,
    on: date,
) -> Member:
    """Add a member to a registered household."""
    member = build_member(household.id, values, vault)
    await idnumbers.ensure_free(session, [member.id_hash] if member.id_hash else [])
    session.add(member)
    await idnumbers.flush_checked(session)
    history.note(session, household.id, actor=actor, action="member.added", changes={"member_id": member.id})
    publish(
        session,
        MemberAdded(
            household_id=household.id,
            member_id=member.id,
            relationship_to_head=member.relationship_to_head,
            birth_date=member.birth_date,
        ),
    )
    await publish_facts(session, household, member, BLANK, actor=actor, on=on, new_member=True)
    # One more mouth on the same income: the per-capita income may now be under line + margin.
    await monitoring.check_income(session, household, year=on.year, on=on, actor=actor)
    return member


async def change_member(
    session: AsyncSession,
    household: Household,
    member: Member,
    changes: Mapping[str, Any],
    *,
    actor: str,
    vault: IdCardVault,
    on: date,
) -> list[str]:
    """Apply `changes` (field -> value; `id_number` canonical); returns the names of the fields that changed."""
    cleared = [k for k in REQUIRED if k in changes and changes[k] is None]
    if cleared:
        raise InvalidInput("These member fields cannot be cleared: " + ", ".join(cleared) + ".")
    before = snapshot(member)
    for key in EDITABLE:
        if key in changes:
            setattr(member, key, changes[key])
    _ensure_consistent(member)
    renumbered = await _apply_id_number(
        session, member, changes.get("id_number"), birth_changed="birth_date" in changes, vault=vault
    )
    changed = history.diff(before, snapshot(member))
    if renumbered and "id_number" not in changed:
        changed["id_number"] = [before["id_number"], member.id_masked]  # same masked digits, another number
    if not changed:
        return []
    session.add(member)
    await idnumbers.flush_checked(session)
    history.note(
        session, household.id, actor=actor, action="member.updated", changes={"member_id": member.id, **changed}
    )
    publish(session, MemberUpdated(household_id=household.id, member_id=member.id, changed=sorted(changed)))
    await publish_facts(session, household, member, before, actor=actor, on=on)
    return sorted(changed)


async def _apply_id_number(
    session: AsyncSession, member: Member, number: str | None, *, birth_changed: bool, vault: IdCardVault
) -> bool:
    """Seal a new number (it must carry the member's birth date and be free); True when the number changed.
    Without a new number, a changed birth date is checked against the stored one."""
    if number is None:
        if birth_changed and member.id_kid and member.id_ciphertext:
            stored = vault.open(member.id_kid, member.id_ciphertext, member_id=member.id)
            idnumbers.check_birth_date(stored, member.birth_date)
        return False
    idnumbers.check_birth_date(number, member.birth_date)
    if vault.keyed_hash(number) == member.id_hash:
        return False
    await idnumbers.ensure_free(session, [vault.keyed_hash(number)], except_member=member.id)
    idnumbers.seal_into(member, number, vault)
    return True


async def publish_facts(
    session: AsyncSession,
    household: Household,
    member: Member,
    before: Mapping[str, Any],
    *,
    actor: str,
    on: date,
    new_member: bool = False,
) -> None:
    """Record the events (and problems) that follow from facts changed since `before`; a newly certified
    disability of an existing member also flags relapse risk (a new member's is not a change in the household)."""
    facts = facts_of(member)
    for event in fact_events(household.id, household.area_code, facts, before, actor=actor, on=on):
        publish(session, event)
    if new_member or not (_changed(before, facts, DISABILITY) and member.disability_type):
        return
    if monitoring.disability_is_new(before.get("disability_type"), member.disability_type):
        detail = f"A member was newly certified disabled ({member.disability_type}, grade {member.disability_grade})."
        await monitoring.raise_flag(session, household, kind=RiskKind.NEW_DISABILITY, detail=detail, on=on, actor=actor)


def facts_of(member: Member) -> dict[str, Any]:
    """The member's facts (and id and birth date) as `fact_events` reads them."""
    return {**{k: getattr(member, k) for k in FACTS}, "id": member.id, "birth_date": member.birth_date}


def fact_events(
    household_id: UUID, area_code: str, member: Mapping[str, Any], before: Mapping[str, Any], *, actor: str, on: date
) -> list[IntegrationEvent]:
    """The events that follow from a member's facts changed since `before` (pure: the API records them one use case
    at a time, the bulk import writes them with its rows): disability, chronic disease, schooling (a dropout of
    school age is also a problem for audit, 控辍保学) and medical cover (lost cover too)."""
    events: list[IntegrationEvent] = []
    ids = {"household_id": household_id, "member_id": member["id"]}
    if _changed(before, member, DISABILITY) and member.get("disability_type") and member.get("disability_grade"):
        certified = member["disability_certified_on"]
        kind, grade = member["disability_type"], member["disability_grade"]
        events.append(MemberDisabilityRecorded(**ids, disability_type=kind, grade=grade, certified_on=certified))
    if _changed(before, member, CHRONIC) and member.get("chronic_disease_approved_on"):
        events.append(MemberChronicDiseaseApproved(**ids, approved_on=member["chronic_disease_approved_on"]))
    problem = partial(problem_event, household_id, area_code, found_on=on, found_by=actor)
    if _changed(before, member, SCHOOLING) and member.get("enrolment"):
        events.append(
            MemberSchoolingChanged(**ids, enrolment=member["enrolment"], school_stage=member.get("school_stage"))
        )
        if member["enrolment"] == Enrolment.DROPPED_OUT and is_school_age(member["birth_date"], on):
            events.append(problem(category=ProblemCategory.SCHOOLING, code="school_dropout", description=DROPOUT))
    if _changed(before, member, MEDICAL):
        cover = {k: bool(member.get(k)) for k in MEDICAL}
        events.append(MemberMedicalCoverageChanged(**ids, **cover))
        if before.get("medical_insured") and not cover["medical_insured"]:
            events.append(
                problem(category=ProblemCategory.MEDICAL, code="no_medical_insurance", description=LOST_COVER)
            )
    return events


def _changed(before: Mapping[str, Any], member: Mapping[str, Any], keys: tuple[str, ...]) -> bool:
    return any(before.get(k) != member.get(k) for k in keys)
