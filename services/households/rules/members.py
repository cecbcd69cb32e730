"""A member's facts and what follows from them (pure): which facts go together, and the events and problems a
change of facts means (a dropout of school age, lost medical cover)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import partial
from typing import Any
from uuid import UUID

from services.households.rules.guarantees import is_school_age
from services.households.rules.problems import problem_event
from services.households.rules.vocabulary import Enrolment
from shared.contracts import IntegrationEvent
from shared.contracts.accountability import ResponsiblePerson
from shared.contracts.households import (
    MemberAdded,
    MemberChronicDiseaseApproved,
    MemberDisabilityRecorded,
    MemberMedicalCoverageChanged,
    MemberSchoolingChanged,
    ProblemCategory,
)

DISABILITY = ("disability_type", "disability_grade", "disability_certified_on")
CHRONIC = ("chronic_disease", "chronic_disease_approved_on")
SCHOOLING = ("school_stage", "school_name", "enrolment")
MEDICAL = ("medical_insured", "premium_subsidised", "family_doctor_contract")
DROPOUT = "A member of compulsory-school age has dropped out (控辍保学)."
LOST_COVER = "A member lost basic medical insurance cover."
FACTS = (*DISABILITY, *CHRONIC, *SCHOOLING, "labour_capacity", *MEDICAL)
EDITABLE = ("name", "relationship_to_head", "birth_date", *FACTS)
REQUIRED = ("name", "relationship_to_head", "birth_date", *MEDICAL)
DATED = ("birth_date", "disability_certified_on", "chronic_disease_approved_on")  # dates of what has happened
# The facts of a member nobody has recorded anything about (what a new member is compared with).
BLANK: dict[str, Any] = {**dict.fromkeys((*EDITABLE, "id_number")), **dict.fromkeys(MEDICAL, False)}


def dates_of(values: Mapping[str, Any], prefix: str = "") -> dict[str, date | None]:
    """The member's dates of what has happened, named as the fields of a request body (after `prefix`)."""
    return {prefix + name: values.get(name) for name in DATED}


def fact_errors(values: Mapping[str, Any]) -> list[str]:
    """Facts that contradict each other."""
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


def mask_name(name: str) -> str:
    """The name as a public notice (公示) shows it: the first and last characters (张*三), the first of two (张*)."""
    if len(name) <= 1:
        return "*"
    return name[0] + "*" + (name[-1] if len(name) > 2 else "")


def member_added(household_id: UUID, member: Mapping[str, Any]) -> MemberAdded:
    """The event announcing a member, registered with the household or added later: the name and the ID-card number
    only masked (`member` as a row or `facts_of` holds them: id, name, relationship_to_head, birth_date, id_masked)."""
    return MemberAdded(
        household_id=household_id,
        member_id=member["id"],
        relationship_to_head=member["relationship_to_head"],
        birth_date=member["birth_date"],
        name_masked=mask_name(member["name"]),
        id_masked=member.get("id_masked"),
    )


def fact_events(
    household_id: UUID,
    area_code: str,
    member: Mapping[str, Any],
    before: Mapping[str, Any],
    *,
    actor: str,
    on: date,
    responsible: ResponsiblePerson | None = None,
) -> list[IntegrationEvent]:
    """The events that follow from a member's facts changed since `before` (the API records them one use case at a
    time, the bulk import writes them with its rows): disability, chronic disease, schooling (a dropout of
    school age is also a problem for audit, 控辍保学, naming the household's helper cadre, `responsible`) and
    medical cover (lost cover too)."""
    events: list[IntegrationEvent] = []
    ids = {"household_id": household_id, "member_id": member["id"]}
    if facts_changed(before, member, DISABILITY) and member.get("disability_type") and member.get("disability_grade"):
        certified = member["disability_certified_on"]
        kind, grade = member["disability_type"], member["disability_grade"]
        events.append(MemberDisabilityRecorded(**ids, disability_type=kind, grade=grade, certified_on=certified))
    if facts_changed(before, member, CHRONIC) and member.get("chronic_disease_approved_on"):
        events.append(MemberChronicDiseaseApproved(**ids, approved_on=member["chronic_disease_approved_on"]))
    problem = partial(problem_event, household_id, area_code, found_on=on, found_by=actor, responsible=responsible)
    if facts_changed(before, member, SCHOOLING) and member.get("enrolment"):
        events.append(
            MemberSchoolingChanged(**ids, enrolment=member["enrolment"], school_stage=member.get("school_stage"))
        )
        if member["enrolment"] == Enrolment.DROPPED_OUT and is_school_age(member["birth_date"], on):
            events.append(problem(category=ProblemCategory.SCHOOLING, code="school_dropout", description=DROPOUT))
    if facts_changed(before, member, MEDICAL):
        cover = {k: bool(member.get(k)) for k in MEDICAL}
        events.append(MemberMedicalCoverageChanged(**ids, **cover))
        if before.get("medical_insured") and not cover["medical_insured"]:
            events.append(
                problem(category=ProblemCategory.MEDICAL, code="no_medical_insurance", description=LOST_COVER)
            )
    return events


def facts_changed(before: Mapping[str, Any], member: Mapping[str, Any], keys: tuple[str, ...]) -> bool:
    return any(before.get(k) != member.get(k) for k in keys)
