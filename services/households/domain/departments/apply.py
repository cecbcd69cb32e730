"""Applying one department row: find the member or household, then the same domain call an officer's
change would make (so the same events, problems, flags and history follow)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.households.domain import deaths, housing, idnumbers, members, policies, water
from services.households.models import Household, Member
from services.households.rules.housing import AppraisalFacts
from services.households.rules.vocabulary import AppraisalSource, DataKind
from services.households.settings import HouseholdsConfig
from shared.errors import Conflict, NotFound

# A row as the route read it from its kind's row model: plain values by field (an ID-card number as its text),
# naming its member by `id_number` or `member_id`, and a household kind's by `household_code` too.
Row = Mapping[str, Any]
NOBODY = "No registered member has this ID-card number."


@dataclass(frozen=True)
class RowContext:
    """Who sends the rows, the service's configuration, and the time they are applied at (and the district's day
    then)."""

    actor: str
    config: HouseholdsConfig
    now: datetime
    today: date


async def _locked_household(session: AsyncSession, household_id: Any) -> Household:
    stmt = select(Household).where(col(Household.id) == household_id).with_for_update()
    household = (await session.scalars(stmt)).first()
    if household is None:
        raise NotFound("The member's household does not exist.")
    return household


async def _find_member(session: AsyncSession, ref: Row, ctx: RowContext) -> Member:
    if ref.get("id_number") is not None:
        found = await idnumbers.find_members(session, ref["id_number"], ctx.config.vault)
        if not found:
            raise NotFound(NOBODY)
        return found[0]
    member = await session.get(Member, ref.get("member_id"))
    if member is None:
        raise NotFound("No registered member has this member id.")
    return member


async def resolve_member(session: AsyncSession, ref: Row, ctx: RowContext) -> tuple[Household, Member]:
    """The referenced member and their household (locked for the row's changes).

    The member is read again once the household is locked: an officer's edit committed between the first read
    and the lock would otherwise be judged against stale facts and silently overwritten.
    """
    found = await _find_member(session, ref, ctx)
    household = await _locked_household(session, found.household_id)
    member = await session.get(Member, found.id, populate_existing=True)
    if member is None or member.household_id != household.id:
        raise Conflict("The member was removed or moved while the row was applied; send the row again.")
    return household, member


async def resolve_household(session: AsyncSession, ref: Row, ctx: RowContext) -> Household:
    """The referenced household, by code or through one of its members."""
    if ref.get("household_code") is None:
        return (await resolve_member(session, ref, ctx))[0]
    stmt = select(Household).where(col(Household.household_code) == ref["household_code"]).with_for_update()
    household = (await session.scalars(stmt)).first()
    if household is None:
        raise NotFound("No registered household has this household code.")
    return household


async def _member_facts(session: AsyncSession, ref: Row, changes: dict[str, Any], ctx: RowContext) -> None:
    household, member = await resolve_member(session, ref, ctx)
    await members.change_member(
        session, household, member, changes, actor=ctx.actor, vault=ctx.config.vault, now=ctx.now, today=ctx.today
    )


async def _minimum_allowance(session: AsyncSession, r: Row, ctx: RowContext) -> None:
    household = await resolve_household(session, r, ctx)
    policies.set_minimum_allowance(
        session, household, r["status"], effective_on=r["effective_on"], actor=ctx.actor, now=ctx.now
    )


async def _chronic_disease(session: AsyncSession, r: Row, ctx: RowContext) -> None:
    changes = {"chronic_disease": r["disease"], "chronic_disease_approved_on": r["approved_on"]}
    await _member_facts(session, r, changes, ctx)


async def _hospital_cost(session: AsyncSession, r: Row, ctx: RowContext) -> None:
    household, member = await resolve_member(session, r, ctx)
    await policies.record_hospital_cost(
        session,
        household,
        member,
        amount_fen=r["amount_fen"],
        occurred_on=r["occurred_on"],
        actor=ctx.actor,
        threshold_fen=ctx.config.large_medical_expense_fen,
        now=ctx.now,
        today=ctx.today,
    )


async def _medical_insurance(session: AsyncSession, r: Row, ctx: RowContext) -> None:
    optional = {
        "premium_subsidised": r.get("premium_subsidised"),
        "family_doctor_contract": r.get("family_doctor_contract"),
    }
    changes: dict[str, Any] = {"medical_insured": r["medical_insured"]}
    if not r["medical_insured"] and r.get("premium_subsidised") is None:
        optional["premium_subsidised"] = False  # no insurance, no premium to subsidise (代缴 ends with the cover)
    changes.update({k: v for k, v in optional.items() if v is not None})
    await _member_facts(session, r, changes, ctx)


async def _enrolment(session: AsyncSession, r: Row, ctx: RowContext) -> None:
    changes: dict[str, Any] = {"enrolment": r["enrolment"]}
    changes.update({k: r[k] for k in ("school_stage", "school_name") if r.get(k)})
    await _member_facts(session, r, changes, ctx)


async def _disability(session: AsyncSession, r: Row, ctx: RowContext) -> None:
    changes = {
        "disability_type": r["disability_type"],
        "disability_grade": r["grade"],
        "disability_certified_on": r["certified_on"],
    }
    await _member_facts(session, r, changes, ctx)


async def _water(session: AsyncSession, r: Row, ctx: RowContext) -> None:
    household = await resolve_household(session, r, ctx)
    await water.record_water_check(
        session,
        household,
        checked_on=r["checked_on"],
        source=r["source"],
        problems=r["problems"],
        checked_by=ctx.actor,
        actor=ctx.actor,
        now=ctx.now,
        today=ctx.today,
    )


async def _housing(session: AsyncSession, r: Row, ctx: RowContext) -> None:
    household = await resolve_household(session, r, ctx)
    await housing.record_appraisal(
        session,
        household,
        AppraisalFacts(r["grade"], r["appraised_on"], r["appraiser"], r.get("renovation_due")),
        source=AppraisalSource.DEPARTMENT,
        actor=ctx.actor,
        default_days=ctx.config.renovation_days,
        now=ctx.now,
        today=ctx.today,
    )


async def _death(session: AsyncSession, r: Row, ctx: RowContext) -> None:
    household, member = await resolve_member(session, r, ctx)
    if member.died_on == r["died_on"]:
        return  # reported again (registries send their lists whole): recorded already
    await deaths.record_death(
        session,
        household,
        member,
        died_on=r["died_on"],
        source=r["source"],
        actor=ctx.actor,
        now=ctx.now,
        today=ctx.today,
    )


Applier = Callable[[AsyncSession, Row, RowContext], Awaitable[None]]
APPLIERS: dict[DataKind, Applier] = {
    DataKind.MINIMUM_ALLOWANCE: _minimum_allowance,
    DataKind.CHRONIC_DISEASE: _chronic_disease,
    DataKind.HOSPITAL_COST: _hospital_cost,
    DataKind.MEDICAL_INSURANCE: _medical_insurance,
    DataKind.ENROLMENT: _enrolment,
    DataKind.DISABILITY: _disability,
    DataKind.WATER: _water,
    DataKind.HOUSING: _housing,
    DataKind.DEATH: _death,
}
