"""Routes of a batch's bank results (回盘文件): imported, reconciled line by line, listed."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from services.subsidies.api.deps import Payer, Reader
from services.subsidies.domain import reconciliation
from services.subsidies.rules.bank_file import BankFileEncoding
from services.subsidies.schemas.bank_results import EXAMPLE_FILE, BankResultImportRead
from shared.api.clock import Now, Today
from shared.api.idempotency import REPLAYED_HEADER
from shared.api.pagination import Page, Paging, datetime_key, uuid_key
from shared.http import Reading, Transaction

router = APIRouter(prefix="/batches", tags=["bank results"])

# The body is the bank's file as it came, not JSON: declared here so that the OpenAPI document shows it.
_RESULT_FILE: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The bank's result file (回盘文件), its bytes unchanged, in the encoding `encoding` names",
        "content": {"text/csv": {"schema": {"type": "string"}, "example": EXAMPLE_FILE}},
    }
}


@router.post("/{batch_id}/bank-results", openapi_extra=_RESULT_FILE)
async def import_bank_results(
    batch_id: UUID,
    request: Request,
    response: Response,
    session: Transaction,
    actor: Payer,
    now: Now,
    today: Today,
    encoding: Annotated[
        BankFileEncoding, Query(description="how the file's text is written as bytes (county banks write GBK)")
    ] = BankFileEncoding.UTF_8,
) -> BankResultImportRead:
    """Import a batch's bank result file (回盘文件) and reconcile it line by line

    The body is the CSV the bank sent back (`text/csv`): a header row `line_no,reference,amount_yuan,status,reason,
    bank_reference,settled_on`, then a line per payment instruction (`reference` = the line's id in the exported
    file). Every line is checked before anything changes, and one error refuses the whole file (422: `errors` names
    each bad line, "line 17" counting the header as line 1, the first 100 of them, `error_count` all of them).
    A paid line records a payment of its own and publishes `SubsidyPaid`; a failed line keeps the bank's reason
    and may be paid by a follow-up batch once the account is corrected; a returned line (退回, only of a line paid
    before) has its payment reversed (冲正) and publishes `SubsidyPaymentCorrected`, and a follow-up's line paying
    that entitlement records a new payment (the returned one stays reversed). Once no line awaits the bank
    the batch is `reconciled`, and its cycle `paid` when every entitlement is. The same bytes again answer 200 with
    the first import (header `Idempotency-Replayed: true`) and change nothing; a line reported again in another file
    (paid then paid, under the same bank serial and day) changes nothing either. A paid line reported paid again
    under another serial or on another day was paid twice by the bank (重复支付): the line stays paid once, the
    import counts it in `duplicate_count` (not in `paid_count`), and it is kept as a `duplicate_disbursement` leak of
    the line's payment (`check_id` the import's id) and published (`SubsidyLeakFound`) for audit. A line whose
    payment was reversed by hand (`reversed`) or recovered (追回) reported returned changes nothing (counted in
    `returned_count`, as the bank reported it): the money came back to a payment already undone. A file of up to
    16 MiB is read
    (`MAX_REQUEST_BYTES`): 100,000 lines.

    Refused: an unknown batch (404); a batch whose bank file was never exported (409, `batch_state`); bytes that are
    not in `encoding` (422, `not_decodable`, naming the first such line: a GBK file declared UTF-8); an empty file
    (`empty_file`); a wrong header (`wrong_header`); a line with other than 7 fields (`column_count`) or bad CSV
    (`malformed_line`); a bad line number, reference, amount, status, reason, bank reference or date (`bad_*`;
    `settled_on` is not after today); a line given twice (`duplicate_line`); a reference no line has
    (`unknown_reference`), of another batch (`wrong_batch`), under another line number (`line_no_mismatch`) or with
    another amount (`amount_mismatch`); an outcome that contradicts what the bank reported before (a failed line
    paid, `paid_after_failed`; a paid line failed, `contradicts_paid`; a line returned before it was paid,
    `returned_before_paid`; ...); a paid line for a holder paid this programme and period outside the cycle
    (`holder_paid_by_hand`).
    """
    record, created = await reconciliation.import_bank_results(
        session, batch_id, await request.body(), encoding=encoding, actor=actor, today=today, now=now
    )
    if not created:
        response.headers[REPLAYED_HEADER] = "true"
    return BankResultImportRead(**record.model_dump())


@router.get("/{batch_id}/bank-results")
async def list_bank_results(batch_id: UUID, session: Reading, _: Reader, paging: Paging) -> Page[BankResultImportRead]:
    """List the result files imported for a batch, the newest first, with what their lines reported

    The lines themselves, with their status and the bank's reason, are listed by `GET /v1/batches/{id}/lines`
    (`?status=failed`). Pass `next_cursor` on for the next page.
    """
    rows = await reconciliation.list_imports(
        session, batch_id, after=paging.after(datetime_key, uuid_key), limit=paging.limit + 1
    )
    items, next_cursor = paging.page(rows, lambda r: [r.imported_at.isoformat(), str(r.id)])
    return Page(items=[BankResultImportRead(**r.model_dump()) for r in items], next_cursor=next_cursor)
