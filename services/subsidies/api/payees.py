"""Routes of payee accounts (收款账户, 惠民惠农一卡通): recorded sealed, read masked."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel

from services.subsidies.api.deps import Payer, Reader
from services.subsidies.domain import payees
from services.subsidies.models import Payee
from services.subsidies.rules.payee_vault import PayeeVault
from services.subsidies.schemas.payees import PayeeCreate, PayeeRead
from shared.api.clock import Now
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.http import Reading, Transaction

router = APIRouter(prefix="/households/{household_id}/payees", tags=["payees"])


async def payee_vault(request: Request) -> PayeeVault:
    """The vault of the service's payee keys (SUBSIDIES_PAYEE_KEYS, SUBSIDIES_PAYEE_HMAC_KEY)."""
    vault: PayeeVault = request.app.state.runtime.settings.payee_vault()
    return vault


Vault = Annotated[PayeeVault, Depends(payee_vault)]


class KeyedPayeeRequest(BaseModel):
    """A payee request as its Idempotency-Key remembers it: the body (whose account number and name dump masked)
    and their keyed hash, so that a retry with another account is another request (a 409), and no stored digest
    can be brute-forced back to a number."""

    body: PayeeCreate
    secrets_hash: str


def payee_read(payee: Payee) -> PayeeRead:
    return PayeeRead(**payee.model_dump())


@router.post("", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def add_payee(
    household_id: UUID,
    body: PayeeCreate,
    session: Transaction,
    actor: Payer,
    idem: Idempotency,
    vault: Vault,
    now: Now,
) -> PayeeRead:
    """Record the account a household's or a member's subsidies are paid into (惠民惠农一卡通)

    The account number and the holder's name are kept sealed (AES-GCM), the number also as a keyed hash to find
    one account paid for several households; only masked forms are ever shown (`6217 **** **** 8901`, `张*三`), and
    neither appears in any response, log, event or error. Without `member_id` the account is the household's, used
    for its members' subsidies too unless a member has one of their own. A new account for the same holder
    replaces the one in use (its `replaced_at` is set): that is how an account the bank refused is corrected, after
    which a follow-up batch pays the failed lines into it.

    Refused: a household subsidies does not know (404); a `member_id` or `holder_member_id` that is not a member
    of the household (422, `unknown_member`).
    """
    secrets = f"{body.account_no.get_secret_value()}\n{body.holder_name.get_secret_value()}".encode()
    remembered = KeyedPayeeRequest(body=body, secrets_hash=vault.keyed_digest(secrets))
    if (earlier := await idem.replay(remembered, PayeeRead)) is not None:
        return earlier
    payee = await payees.add_payee(session, household_id, body, vault=vault, actor=actor.subject, now=now)
    return idem.remember(payee_read(payee))


@router.get("")
async def list_payees(
    household_id: UUID,
    session: Reading,
    _: Reader,
    paging: Paging,
    in_use: Annotated[bool | None, Query(description="true: the accounts in use; false: those replaced")] = None,
) -> Page[PayeeRead]:
    """List a household's payee accounts, masked, the newest first

    The accounts in use (`replaced_at` null) and those they replaced. Pass `next_cursor` on for the next page.
    Refused: a household subsidies does not know (404).
    """
    rows = await payees.list_payees(
        session, household_id, in_use=in_use, after=paging.after(datetime_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda p: [p.recorded_at.isoformat(), str(p.id)])
    return Page(items=[payee_read(p) for p in items], next_cursor=next_cursor)
