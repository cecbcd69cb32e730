"""A small app built the way every service is (`build_app`), with one idempotent create and one paged list: the
API kit's tests run it on SQLite (unit) and PostgreSQL (integration)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Depends, FastAPI, status
from pydantic import BaseModel

from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, int_key
from shared.auth import Principal, Role, require_roles
from shared.contracts.households import HouseholdRegistered
from shared.errors import Conflict
from shared.http import Transaction
from shared.messaging.outbox import record_event
from shared.schemas import RequestBody
from shared.service import ServiceSpec, build_app
from shared.settings import ServiceSettings

Writer = Annotated[Principal, Depends(require_roles(Role.DISTRICT_OFFICE))]
router = APIRouter(prefix="/notes", tags=["notes"])


class NoteCreate(RequestBody):
    text: str
    refuse: bool = False
    hold_s: float = 0  # how long the request holds its claim of the key before it finishes (concurrency tests)
    example: ClassVar[dict[str, Any]] = {"text": "a note"}


class NoteRead(BaseModel):
    id: str
    text: str


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def write_note(body: NoteCreate, session: Transaction, actor: Writer, idem: Idempotency) -> NoteRead:
    """Write a note: an event in the outbox, so that the tests can count what was recorded."""
    if (earlier := await idem.replay(body, NoteRead)) is not None:
        return earlier
    await asyncio.sleep(body.hold_s)
    event = HouseholdRegistered(
        household_id=uuid.uuid4(), household_code=body.text, area_code="371523101201", member_count=1
    )
    record_event(session, event, source="/tests")
    if body.refuse:
        raise Conflict("refused after the work was done: nothing may stay")
    return idem.remember(NoteRead(id=uuid.uuid4().hex, text=body.text))


@router.get("")
async def list_numbers(actor: Writer, page: Paging) -> Page[int]:
    """Numbers 1 to 25, a page at a time."""
    after = page.after(int_key)
    start = after[0] if after else 0
    rows = list(range(start + 1, min(start + page.limit + 1, 25) + 1))
    items, cursor = page.page(rows, key=lambda n: [n])
    return Page(items=items, next_cursor=cursor)


def notes_app(database_url: str) -> FastAPI:
    """The app on a database migrated for any service (every service has the idempotency and outbox tables)."""
    settings = ServiceSettings(database_url=database_url, kafka_enabled=False, metrics_port=0)
    return build_app(ServiceSpec(name="notes", title="Notes", settings=settings, routers=[router]))
