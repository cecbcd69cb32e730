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
from services.subsidies.rules.vocabulary import BatchStatus, LineStatus
from services.subsidies.schemas.batches import (
    AwaitingEntitlementRead,
    BankFileExportRead,
    BankFileRequest,
    BatchBuilt,
    BatchLineListed,
    BatchLineRead,
    BatchListed,
    BatchRead,
    LinePayee,
)
from services.subsidies.schemas.payments import AnyPeriod
from shared.api.clock import Now
from shared.api.idempotency import REPLAY_RESPONSE, Idempotency
from shared.api.pagination import Page, Paging, datetime_key, int_key, text_key, uuid_key
from shared.areas import AreaCode
from shared.contracts.subsidies import PolicyCode
from shared.http import Reading, Transaction

router = APIRouter(tags=["batches"])
Area = Annotated[AreaCode | None, Query(description="only holders within this district, township or village code")]
_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The bank file (README: the bank file layout), as an attachment; the sha256 of the bytes sent "
        "in the `X-Checksum-SHA256` header",
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
    an account now. Never an entitlement with a pending or paid line, even under a retried or concurrent build, nor
    one whose holder was paid the programme and period by hand (a payment not reversed or recovered): an
    entitlement is paid at most once. Each entitlement about to be batched is first judged again, as at approval,
    on the facts known now as of the period's first day: one no longer entitled (a death, 低保 ended, an exit
    without policies reported since) or already paid a one-off programme is withdrawn with the reason, not batched
    (`withdrawn_count`); one now entitled to less is paid that (`amended_count`), never more than approved. Answers
    the batch and how many listed entitlements wait for an account (`GET /v1/cycles/{cycle_id}/awaiting-batch`
    lists them). An `Idempotency-Key` makes a retry answer the batch first built (200).

    Refused: a cycle not approved (409, `cycle_state`); nothing ready for a batch (422, `nothing_to_pay`, with
    `awaiting_count` and `no_longer_entitled_count`: those stay listed, as the refusal changes nothing, and every
    build leaves them out again).
    """
    if (earlier := await idem.replay(NoBody(), BatchBuilt)) is not None:
        return earlier
    built = await batches.build_batch(session, cycle_id, actor=actor.subject, now=now)
    return idem.remember(
        BatchBuilt(
            **built.batch.model_dump(),
            awaiting_count=built.awaiting_count,
            withdrawn_count=built.withdrawn_count,
            amended_count=built.amended_count,
        )
    )


@router.get("/cycles/{cycle_id}/batches")
async def list_batches(cycle_id: UUID, session: Reading, _: Reader, paging: Paging) -> Page[BatchRead]:
    """List a cycle's disbursement batches, the first batch then its follow-ups

    Pass `next_cursor` on for the next page.
    """
    rows = await batches.list_batches(session, cycle_id, after=paging.after(int_key), limit=paging.limit + 1)
    items, next_cursor = paging.page(rows, lambda b: [b.sequence])
    return Page(items=[BatchRead(**b.model_dump()) for b in items], next_cursor=next_cursor)


@router.get("/cycles/{cycle_id}/awaiting-batch")
async def list_awaiting(
    cycle_id: UUID,
    session: Reading,
    _: Reader,
    paging: Paging,
    area_code: Area = None,
    reason: AwaitingReason | None = None,
) -> Page[AwaitingEntitlementRead]:
    """List a cycle's listed entitlements that no pending or paid bank line holds, and why

    A holder paid the programme and period by hand is not listed: nothing awaits a batch for them.

    `ready`: the next batch takes it; `no_payee`: neither the holder nor the household has an account in use;
    `account_not_corrected`: an earlier line failed (or was returned) on the account still in use. By household and
    holder; pass `next_cursor` on for the next page.
    """
    after = paging.after(uuid_key, text_key)
    rows = await batches.list_awaiting(
        session, cycle_id, area_code=area_code, reason=reason, after=after, limit=paging.limit + 1
    )
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
async def get_batch(batch_id: UUID, session: Reading, _: Reader) -> BatchRead:
    """Read a disbursement batch: its lines' count and total, its status and its bank file's checksum"""
    return BatchRead(**(await batches.get_batch(session, batch_id)).model_dump())


@router.get("/batches/{batch_id}/lines")
async def list_lines(
    batch_id: UUID,
    session: Reading,
    _: Reader,
    paging: Paging,
    line_status: Annotated[LineStatus | None, Query(alias="status")] = None,
    area_code: Area = None,
) -> Page[BatchLineRead]:
    """List a batch's lines by line number, each with its holder, the masked account and what the bank said

    Filter by status (`failed`: the lines a follow-up batch may pay once their account is corrected) or area
    (`area_code`, a township's or village's code). Pass `next_cursor` on for the next page. Every cycle's lines:
    `GET /v1/batch-lines`.
    """
    rows = await batches.list_lines(
        session, batch_id, status=line_status, area_code=area_code, after=paging.after(int_key), limit=paging.limit + 1
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


@router.get("/batches")
async def list_all_batches(
    session: Reading,
    _: Reader,
    paging: Paging,
    programme_code: PolicyCode | None = None,
    period: Annotated[AnyPeriod | None, Query()] = None,
    batch_status: Annotated[BatchStatus | None, Query(alias="status")] = None,
) -> Page[BatchListed]:
    """List the disbursement batches of every cycle, the newest built first

    Filter by the cycle's programme and period, and the batch's status (`built`, `exported`, `reconciled`). Each
    batch names its cycle's programme and period. Pass `next_cursor` on for the next page.
    """
    rows = await batches.list_all_batches(
        session,
        programme_code=programme_code,
        period=period,
        status=batch_status,
        after=paging.after(datetime_key, uuid_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(
        rows, lambda r: [r.DisbursementBatch.built_at.isoformat(), str(r.DisbursementBatch.id)]
    )
    listed = [
        BatchListed(**r.DisbursementBatch.model_dump(), programme_code=r.programme_code, period=r.period) for r in items
    ]
    return Page(items=listed, next_cursor=next_cursor)


@router.get("/batch-lines")
async def list_all_lines(
    session: Reading,
    _: Reader,
    paging: Paging,
    line_status: Annotated[LineStatus | None, Query(alias="status")] = None,
    programme_code: PolicyCode | None = None,
    period: Annotated[AnyPeriod | None, Query()] = None,
    area_code: Area = None,
) -> Page[BatchLineListed]:
    """List the bank lines of every cycle and batch, by batch and line number

    Filter by status (`failed`: every line the bank refused, say this month's with `period`), the cycle's programme
    and period, and area (`area_code`, a township's or village's code). Each line names its holder, the masked
    account it went to and its cycle's programme and period. Pass `next_cursor` on for the next page.
    """
    rows = await batches.list_all_lines(
        session,
        status=line_status,
        programme_code=programme_code,
        period=period,
        area_code=area_code,
        after=paging.after(uuid_key, int_key),
        limit=paging.limit + 1,
    )
    items, next_cursor = paging.page(rows, lambda r: [str(r.BatchLine.batch_id), r.BatchLine.line_no])
    listed = [
        BatchLineListed(
            **_line_read(r).model_dump(), cycle_id=r.cycle_id, programme_code=r.programme_code, period=r.period
        )
        for r in items
    ]
    return Page(items=listed, next_cursor=next_cursor)


@router.post("/batches/{batch_id}/bank-file", response_class=Response, responses=_FILE)
async def export_bank_file(
    batch_id: UUID, body: BankFileRequest, session: Transaction, actor: Payer, vault: Vault, now: Now
) -> Response:
    """Export a batch's bank file (代发文件), the one place full account numbers leave the system

    The CSV the paying bank imports (README: the bank file layout), in GBK or UTF-8, lines by line number. Each
    export is recorded with who, why and the file's checksum (`GET /v1/batches/{batch_id}/exports`) and published
    as `BankFileExported` for audit's log; the batch becomes `exported`. Two checksums: `X-Checksum-SHA256`, the
    export's record and the event carry the sha256 of the bytes sent (a GBK file's differs from the UTF-8 one's),
    which the bank can check the file it got against; the batch keeps the canonical checksum, the sha256 of the
    file's UTF-8 form, set at the first export. The file is a function of the batch's lines, their accounts and the
    programme alone, so every export must match the canonical checksum whatever its encoding, and a file can be
    reproduced and checked later.

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
async def list_exports(batch_id: UUID, session: Reading, _: Reader, paging: Paging) -> Page[BankFileExportRead]:
    """List who exported a batch's bank file, when, why and in which encoding, the first export first

    Pass `next_cursor` on for the next page.
    """
    rows = await batches.list_exports(
        session, batch_id, after=paging.after(datetime_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda e: [e.exported_at.isoformat(), str(e.id)])
    return Page(items=[BankFileExportRead(**e.model_dump()) for e in items], next_cursor=next_cursor)
