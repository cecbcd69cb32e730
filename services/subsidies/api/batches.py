"""Routes of disbursement batches (代发批次), their lines and their bank files (代发文件)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel
from sqlalchemy import Row

from services.subsidies.api.deps import Payer, Reader
from services.subsidies.api.payees import Vault
from services.subsidies.domain import batches
from services.subsidies.domain.batches import AwaitingReason
from services.subsidies.rules.vocabulary import LineStatus
from services.subsidies.schemas.batches import (
    AwaitingEntitlementRead,
    BankFileExportRead,
    BankFileRequest,
    BatchBuilt,
    BatchLineRead,
    BatchRead,
    LinePayee,
)
from shared.api.clock import Now
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, int_key, text_key, uuid_key
from shared.areas import AreaCode
from shared.http import Transaction

router = APIRouter(tags=["batches"])
Area = Annotated[AreaCode | None, Query(description="only holders within this district, township or village code")]
_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The bank file (README: the bank file layout), as an attachment; its sha256 (UTF-8 form) in "
        "the `X-Checksum-SHA256` header",
    }
}


class NoBody(BaseModel):
    """A build takes no body: its Idempotency-Key names the request alone."""


@router.post("/cycles/{cycle_id}/batches", status_code=status.HTTP_201_CREATED, responses=REPLAY_RESPONSE)
async def build_batch(cycle_id: UUID, session: Transaction, actor: Payer, idem: Idempotency, now: Now) -> BatchBuilt:
    """Build the next disbursement batch of an approved cycle (代发批次)

    The first batch holds every listed entitlement whose holder (or, for a member, the household) has an account in
    use, one pending line each, numbered from 1. A follow-up batch holds the entitlements whose last line failed or
    was returned and whose account was corrected since (a new account recorded), and those never batched that have
    an account now. Never an entitlement with a pending or paid line, even under a retried or concurrent build: an
    entitlement is paid at most once. Answers the batch and how many listed entitlements wait for an account
    (`GET /v1/cycles/{cycle_id}/awaiting-batch` lists them). An `Idempotency-Key` makes a retry answer the batch
    first built (200).

    Refused: a cycle not approved (409, `cycle_state`); nothing ready for a batch (422, `nothing_to_pay`).
    """
    if (earlier := await idem.replay(NoBody(), BatchBuilt)) is not None:
        return earlier
    built = await batches.build_batch(session, cycle_id, actor=actor.subject, now=now)
    return idem.remember(BatchBuilt(**built.batch.model_dump(), awaiting_count=built.awaiting_count))


@router.get("/cycles/{cycle_id}/batches")
async def list_batches(cycle_id: UUID, session: Transaction, _: Reader, paging: Paging) -> Page[BatchRead]:
    """List a cycle's disbursement batches, the first batch then its follow-ups

    Pass `next_cursor` on for the next page.
    """
    rows = await batches.list_batches(session, cycle_id, after=paging.after(int_key), limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda b: [b.sequence])
    return Page(items=[BatchRead(**b.model_dump()) for b in items], next_cursor=next_cursor)


@router.get("/cycles/{cycle_id}/awaiting-batch")
async def list_awaiting(
    cycle_id: UUID,
    session: Transaction,
    _: Reader,
    paging: Paging,
    area: Area = None,
    reason: AwaitingReason | None = None,
) -> Page[AwaitingEntitlementRead]:
    """List a cycle's listed entitlements that no pending or paid bank line holds, and why

    `ready`: the next batch takes it; `no_payee`: neither the holder nor the household has an account in use;
    `account_not_corrected`: an earlier line failed (or was returned) on the account still in use. By household and
    holder; pass `next_cursor` on for the next page.
    """
    after = paging.after(uuid_key, text_key)
    rows = await batches.list_awaiting(session, cycle_id, area=area, reason=reason, after=after, limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda r: [str(r.household_id), r.holder_key])
    return Page(items=[_awaiting_read(r) for r in items], next_cursor=next_cursor)


def _awaiting_read(row: Row[Any]) -> AwaitingEntitlementRead:
    return AwaitingEntitlementRead(
        entitlement_id=row.id,
        household_id=row.household_id,
        member_id=row.member_id,
        holder_key=row.holder_key,
        area_code=row.area_code,
        amount_fen=row.amount_fen,
        payee_id=row.payee_id,
        reason=batches.reason_of(row.payee_id, account_used=row.account_used),
    )


@router.get("/batches/{batch_id}")
async def get_batch(batch_id: UUID, session: Transaction, _: Reader) -> BatchRead:
    """Read a disbursement batch: its lines' count and total, its status and its bank file's checksum"""
    return BatchRead(**(await batches.get_batch(session, batch_id)).model_dump())


@router.get("/batches/{batch_id}/lines")
async def list_lines(
    batch_id: UUID,
    session: Transaction,
    _: Reader,
    paging: Paging,
    line_status: Annotated[LineStatus | None, Query(alias="status")] = None,
    area: Area = None,
) -> Page[BatchLineRead]:
    """List a batch's lines by line number, each with its holder, the masked account and what the bank said

    Filter by status (`failed`: the lines a follow-up batch may pay once their account is corrected) or area. Pass
    `next_cursor` on for the next page.
    """
    rows = await batches.list_lines(
        session, batch_id, status=line_status, area=area, after=paging.after(int_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda r: [r.BatchLine.line_no])
    return Page(items=[_line_read(r) for r in items], next_cursor=next_cursor)


def _line_read(row: Row[Any]) -> BatchLineRead:
    line = row.BatchLine
    payee = LinePayee(
        id=line.payee_id,
        bank_code=row.bank_code,
        account_masked=row.account_masked,
        holder_name_masked=row.holder_name_masked,
    )
    return BatchLineRead(
        **line.model_dump(),
        household_id=row.household_id,
        member_id=row.member_id,
        holder_key=row.holder_key,
        area_code=row.area_code,
        payee=payee,
    )


@router.post("/batches/{batch_id}/bank-file", response_class=Response, responses=_FILE)
async def export_bank_file(
    batch_id: UUID, body: BankFileRequest, session: Transaction, actor: Payer, vault: Vault, now: Now
) -> Response:
    """Export a batch's bank file (代发文件), the one place full account numbers leave the system

    The CSV the paying bank imports (README: the bank file layout), in GBK or UTF-8, lines by line number. Each
    export is recorded with who, why and the file's checksum (`GET /v1/batches/{batch_id}/exports`) and published
    as `BankFileExported` for audit's log; the batch becomes `exported`. The file is a function of the batch's
    lines, their accounts and the programme alone: every export of a batch has the same checksum (sha256 of its
    UTF-8 form, kept on the batch at the first export), so a file can be reproduced and checked later.

    Refused: a holder's name with a character GBK lacks, in GBK (422, `not_encodable`, naming each line: export in
    UTF-8 or correct the name); a file that no longer matches its first export's checksum (409, `file_changed`); an
    account whose key is no longer configured (409, `payee_unreadable`).
    """
    exported = await batches.export_bank_file(
        session, batch_id, encoding=body.encoding, reason=body.reason, vault=vault, actor=actor.subject, now=now
    )
    name = f"batch-{exported.batch.cycle_id}-{exported.batch.sequence}-{exported.encoding}.csv"
    return Response(
        exported.content,
        media_type=f"text/csv; charset={exported.encoding}",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Checksum-SHA256": exported.checksum},
    )


@router.get("/batches/{batch_id}/exports")
async def list_exports(batch_id: UUID, session: Transaction, _: Reader, paging: Paging) -> Page[BankFileExportRead]:
    """List who exported a batch's bank file, when, why and in which encoding, the first export first

    Pass `next_cursor` on for the next page.
    """
    rows = await batches.list_exports(
        session, batch_id, after=paging.after(datetime_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda e: [e.exported_at.isoformat(), str(e.id)])
    return Page(items=[BankFileExportRead(**e.model_dump()) for e in items], next_cursor=next_cursor)
