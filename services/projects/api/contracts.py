"""Routes of a project's insurance policies (项目保险) and maintenance contracts (运维合同)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from fastapi import APIRouter, status

from services.projects.api.deps import Reader, Registrar
from services.projects.domain import contracts, projects
from services.projects.models import ProjectContract
from services.projects.rules.lifecycle import contract_expired
from services.projects.schemas.lifecycle import ContractCreate, ContractRead
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, date_key, uuid_key
from shared.http import Reading, Transaction

router = APIRouter(prefix="/projects", tags=["projects"])


def _read(contract: ProjectContract, *, today: date) -> ContractRead:
    return ContractRead(**contract.model_dump(), expired=contract_expired(contract.expires_on, today=today))


@router.post("/{project_id}/contracts", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def record_contract(
    project_id: UUID,
    body: ContractCreate,
    session: Transaction,
    actor: Registrar,
    idem: Idempotency,
    today: Today,
    now: Now,
) -> ContractRead:
    """Record a project's insurance policy or maintenance contract, with its cost and term

    An expired one (the day after `expires_on`) with none of its kind covering today is reported by the scheduled
    checks as a finding.

    Refused: an expiry not after the start (422, `expires_before_start`); a closed project (409, `project_state`).
    """
    if (earlier := await idem.replay(body, ContractRead)) is not None:
        return earlier
    project = await projects.get_project(session, project_id, actor=actor)
    contract = await contracts.record_contract(session, project, body, actor=actor, now=now)
    return idem.remember(_read(contract, today=today))


@router.get("/{project_id}/contracts")
async def list_contracts(
    project_id: UUID, session: Reading, actor: Reader, paging: Paging, today: Today
) -> Page[ContractRead]:
    """List a project's insurance and maintenance contracts, the first to expire first, each saying if it expired

    Pass `next_cursor` on for the next page.
    """
    project = await projects.get_project(session, project_id, actor=actor)
    rows = await contracts.contracts_page(
        session, project, after=paging.after(date_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda c: [c.expires_on.isoformat(), str(c.id)])
    return Page(items=[_read(c, today=today) for c in items], next_cursor=next_cursor)
