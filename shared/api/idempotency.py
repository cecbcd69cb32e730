"""Idempotent creates: a client that retries a request with the same `Idempotency-Key` gets the first result.

A create that timed out may have committed; without a key its retry would record the visit, the project or the
payment a second time. With one, the first request's response is stored in the same transaction as its effect,
and a retry of the same request (same caller, operation, key and body) answers it again with **200** and the
header `Idempotency-Replayed: true`; the same key with a different body is a 409. Keys are kept
`IDEMPOTENCY_RETENTION_DAYS` (retention purges them with the outbox), so a retry must come within that time.

The key is claimed before the work is done, in the same transaction, by an INSERT that skips a key already held
(one round trip for a new request; a retry's look-up follows only when the key was held). A concurrent request with
the same key waits on the claim's unique index and, once the first commits, is answered its result as any retry is
(nothing done twice); if the first failed instead, it claims the key and does the work. A request that fails leaves
no claim behind. The claim is made in the request's transaction itself, never in a savepoint: a savepoint rolled back
would take the row and leave the session its object. On SQLite the claim is a write even when it skips the key, so a
replay waits for the database's one writer.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel
from sqlalchemy import Insert, Select, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import col

from shared.api.idempotent_requests import IdempotentRequest
from shared.auth import CurrentPrincipal
from shared.db import insert_skipping_conflicts
from shared.entities import new_entity
from shared.errors import Conflict
from shared.http import Transaction
from shared.timeutil import utcnow

R = TypeVar("R", bound=BaseModel)
KEY_PATTERN = r"^[A-Za-z0-9._:-]+$"
REPLAYED_HEADER = "Idempotency-Replayed"
# What an idempotent create declares beside its 201 (`responses=REPLAY_RESPONSE` on the route).
REPLAY_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A retry with the same `Idempotency-Key` and body: the first request's result, unchanged "
        "(header `Idempotency-Replayed: true`); nothing was recorded again",
    }
}


KeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        pattern=KEY_PATTERN,
        description="Any unique string of letters, digits and `._:-` (a UUID does): a retry with the same key and "
        "body returns the first result instead of recording it again.",
        examples=["2f1c8e9a-3b7d-4c55-9f0e-6a1d2b3c4d5e"],
    ),
]


def request_digest(body: BaseModel) -> str:
    """What identifies a request's body: its canonical JSON, hashed.

    A secret (an ID-card number) is written masked in that JSON, so two bodies differing only in it would look the
    same: a route whose body holds one passes the body together with the secret's keyed hash (households'
    `numbered`), never the bare body.
    """
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


class IdempotentCreate:
    """The request's key (if any), claimed in the request's transaction."""

    def __init__(self, session: AsyncSession, response: Response, *, caller: str, operation: str, key: str | None):
        self.session, self.response = session, response
        self.caller, self.operation, self.key = caller, operation, key
        self._claim: IdempotentRequest | None = None

    async def replay(self, body: BaseModel, result: type[R]) -> R | None:
        """The first result of this request if it is a retry; otherwise claim the key and return None."""
        if self.key is None:
            return None
        digest = request_digest(body)
        if await self._claimed(digest):
            return None
        earlier = await self._earlier()
        if earlier is None:  # the holder's claim was purged by retention between the two statements
            raise Conflict("This Idempotency-Key expired while the request was being handled: send it again.")
        if earlier.request_hash != digest or earlier.response_body is None:
            raise Conflict("This Idempotency-Key was already used for a different request.")
        self.response.status_code = 200
        self.response.headers[REPLAYED_HEADER] = "true"
        return result.model_validate_json(earlier.response_body)

    def remember(self, result: R) -> R:
        """Store the result with the claim (committed with the effect), and return it."""
        if self._claim is not None:
            self._claim.response_body = result.model_dump_json()
        return result

    async def _earlier(self) -> IdempotentRequest | None:
        key = {"caller": self.caller, "operation": self.operation, "key": self.key}
        return (await self.session.scalars(_EARLIER, key)).first()

    async def _claimed(self, digest: str) -> bool:
        """Whether this request claimed the key (in its transaction); False when a committed request holds it. A
        concurrent request holding it is waited for: its commit makes this one a retry, its rollback frees the key."""
        values: dict[str, Any] = {"caller": self.caller, "operation": self.operation, "key": self.key}
        values |= {"request_hash": digest, "created_at": utcnow()}
        statement = _claim(self.session.get_bind().dialect.name)
        if (await self.session.execute(statement, values)).first() is None:
            return False
        # The inserted row, known to the session as stored (no load), so that `remember` updates it.
        claim = new_entity(IdempotentRequest, **values)
        make_transient_to_detached(claim)
        self.session.add(claim)
        self._claim = claim
        return True


_EARLIER: Select[tuple[IdempotentRequest]] = select(IdempotentRequest).where(
    col(IdempotentRequest.caller) == bindparam("caller"),
    col(IdempotentRequest.operation) == bindparam("operation"),
    col(IdempotentRequest.key) == bindparam("key"),
)


_TABLE: Table = IdempotentRequest.__table__  # type: ignore[attr-defined]


@functools.cache
def _claim(dialect: str) -> Insert:
    # Built once: a statement built per call is keyed for SQLAlchemy's cache each time. A Core insert of the table
    # (its columns given by the parameters), not the model's: the ORM's bulk path would cost more than the row.
    return insert_skipping_conflicts(dialect, _TABLE).returning(_TABLE.c.key)


async def idempotent_create(
    request: Request, response: Response, session: Transaction, principal: CurrentPrincipal, key: KeyHeader = None
) -> IdempotentCreate:
    # The path itself, ids included: the same key sent to two households' visits names two requests.
    operation = f"{request.method} {request.url.path}"[:200]
    return IdempotentCreate(session, response, caller=principal.subject, operation=operation, key=key)


Idempotency = Annotated[IdempotentCreate, Depends(idempotent_create)]
