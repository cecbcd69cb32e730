"""A bank's result file read (rules/bank_results.py) and checked against its batch (rules/reconciliation.py): pure,
every line on its own."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.subsidies.rules.bank_file import MAX_LISTED_ERRORS, BankFileEncoding, decode_file
from services.subsidies.rules.bank_results import ResultLine, parse_file, refusal
from services.subsidies.rules.reconciliation import Effect, LineState, effect_of, plan
from services.subsidies.rules.vocabulary import BankFailure, LineStatus, PaymentStatus
from shared.errors import InvalidInput

TODAY = date(2020, 6, 20)
HEADER = "line_no,reference,amount_yuan,status,reason,bank_reference,settled_on"
REF = "6f1d1bb0-5c3a-4e1e-9a57-2d8c0b7e4a10"
BATCH = UUID(int=7)


def _file(*lines: str, header: str = HEADER) -> str:
    return "\r\n".join([header, *lines, ""])


def _codes(errors: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in errors]


def test_a_good_file_is_read_line_by_line() -> None:
    text = _file(
        f"1,{REF},774.00,paid,,B0001,2020-06-15",
        f"2,{uuid4()},258.05,failed,account_closed,,2020-06-16",
        "",  # blank lines are skipped
        f"3,{uuid4()},0.01,returned,name_mismatch,B0003,2020-06-20",
    )
    lines, errors = parse_file(text, today=TODAY)
    assert errors == []
    assert [(r.row, r.line_no, r.amount_fen, r.status, r.reason) for r in lines] == [
        (2, 1, 77_400, LineStatus.PAID, None),
        (3, 2, 25_805, LineStatus.FAILED, BankFailure.ACCOUNT_CLOSED),
        (5, 3, 1, LineStatus.RETURNED, BankFailure.NAME_MISMATCH),
    ]
    assert lines[0] == ResultLine(2, 1, UUID(REF), 77_400, LineStatus.PAID, None, "B0001", date(2020, 6, 15))
    assert lines[1].bank_reference is None


def test_line_feeds_alone_and_quoted_fields_are_read_too() -> None:
    text = HEADER + "\n" + f'1,"{REF}",774.00,paid,,"B0001",2020-06-15' + "\n"
    lines, errors = parse_file(text, today=TODAY)
    assert errors == [] and lines[0].reference == UUID(REF)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (f'1,"{REF},774.00,paid,,B1,2020-06-15', "malformed_line"),
        (f"1,{REF},774.00,paid,,B1", "column_count"),
        (f"1,{REF},774.00,paid,,B1,2020-06-15,extra", "column_count"),
        (f"0,{REF},774.00,paid,,B1,2020-06-15", "bad_line_no"),
        (f"x,{REF},774.00,paid,,B1,2020-06-15", "bad_line_no"),
        ("1,not-a-reference,774.00,paid,,B1,2020-06-15", "bad_reference"),
        (f"1,{{{REF}}},774.00,paid,,B1,2020-06-15", "bad_reference"),
        (f"1,{REF},774,paid,,B1,2020-06-15", "bad_amount"),
        (f"1,{REF},774.0,paid,,B1,2020-06-15", "bad_amount"),
        (f"1,{REF},-774.00,paid,,B1,2020-06-15", "bad_amount"),
        (f"1,{REF},0.00,paid,,B1,2020-06-15", "bad_amount"),
        (f"1,{REF},７74.00,paid,,B1,2020-06-15", "bad_amount"),
        (f"1,{REF},774.00,PAID,,B1,2020-06-15", "bad_status"),
        (f"1,{REF},774.00,pending,,B1,2020-06-15", "bad_status"),
        (f"1,{REF},774.00,paid,account_closed,B1,2020-06-15", "bad_reason"),
        (f"1,{REF},774.00,failed,,B1,2020-06-15", "bad_reason"),
        (f"1,{REF},774.00,failed,lost,B1,2020-06-15", "bad_reason"),
        (f"1,{REF},774.00,paid,,has space,2020-06-15", "bad_bank_reference"),
        (f"1,{REF},774.00,paid,,{'B' * 65},2020-06-15", "bad_bank_reference"),
        (f"1,{REF},774.00,paid,,B1,2020-6-15", "bad_settled_on"),
        (f"1,{REF},774.00,paid,,B1,2020-02-30", "bad_settled_on"),
        (f"1,{REF},774.00,paid,,B1,2020-06-21", "bad_settled_on"),
        (f"1,{REF},774.00,paid,,B1,", "bad_settled_on"),
    ],
)
def test_each_bad_line_is_named_with_its_code(line: str, code: str) -> None:
    lines, errors = parse_file(_file(f"2,{uuid4()},1.00,paid,,B0,2020-06-15", line), today=TODAY)
    assert len(lines) == 1
    assert _codes(errors) == [("line 3", code)]
    assert REF not in errors[0]["message"]  # an error never repeats what the file said


def test_a_line_number_or_reference_given_twice_is_an_error_on_its_second_line() -> None:
    text = _file(
        f"1,{REF},1.00,paid,,,2020-06-15",
        f"2,{REF},1.00,paid,,,2020-06-15",
        f"1,{uuid4()},1.00,paid,,,2020-06-15",
    )
    lines, errors = parse_file(text, today=TODAY)
    assert len(lines) == 1
    assert _codes(errors) == [("line 3", "duplicate_line"), ("line 4", "duplicate_line")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [("file", "empty_file")]),
        ("\r\n\r\n", [("file", "empty_file")]),
        (_file(), [("file", "empty_file")]),
        (_file(f"1,{REF},1.00,paid,,,2020-06-15", header="line_no,reference,amount"), [("line 1", "wrong_header")]),
        ("\ufeff" + _file(f"1,{REF},1.00,paid,,,2020-06-15"), [("line 1", "wrong_header")]),
        ('"' + _file(f"1,{REF},1.00,paid,,,2020-06-15"), [("line 1", "wrong_header")]),  # a stray quote
        (_file(f"1,{REF},1.00,paid,,,2020-06-15", header=f'"{HEADER[:9]}"x{HEADER[9:]}'), [("line 1", "wrong_header")]),
    ],
)
def test_an_empty_file_or_a_wrong_header_is_refused(text: str, expected: list[tuple[str, str]]) -> None:
    lines, errors = parse_file(text, today=TODAY)
    assert lines == [] and _codes(errors) == expected


def test_a_gbk_file_declared_utf8_names_its_first_undecodable_line() -> None:
    text = _file(f"1,{REF},1.00,paid,,,2020-06-15", f"2,{uuid4()},1.00,failed,other,中国银行,2020-06-15")
    data = text.encode("gbk")
    assert decode_file(data, BankFileEncoding.GBK) == text
    with pytest.raises(InvalidInput) as refused:
        decode_file(data, BankFileEncoding.UTF_8)
    assert _codes(refused.value.extensions["errors"]) == [("line 3", "not_decodable")]


def test_a_refusal_lists_errors_in_the_files_order_up_to_its_cap_and_counts_them_all() -> None:
    errors = [{"field": f"line {n}", "message": "m", "code": "c"} for n in range(250, 1, -1)]
    refused = refusal(errors)
    listed = refused.extensions["errors"]
    assert len(listed) == MAX_LISTED_ERRORS and refused.extensions["error_count"] == 249
    assert listed[0]["field"] == "line 2" and listed[-1]["field"] == f"line {MAX_LISTED_ERRORS + 1}"


# --- What a line does to its payment instruction ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "reported", "expected"),
    [
        (LineStatus.PENDING, LineStatus.PAID, Effect.PAY),
        (LineStatus.PENDING, LineStatus.FAILED, Effect.FAIL),
        (LineStatus.PAID, LineStatus.RETURNED, Effect.RETURN),
        (LineStatus.PAID, LineStatus.PAID, Effect.NONE),
        (LineStatus.FAILED, LineStatus.FAILED, Effect.NONE),
        (LineStatus.RETURNED, LineStatus.RETURNED, Effect.NONE),
        (LineStatus.PENDING, LineStatus.RETURNED, "returned_before_paid"),
        (LineStatus.PAID, LineStatus.FAILED, "contradicts_paid"),
        (LineStatus.FAILED, LineStatus.PAID, "paid_after_failed"),
        (LineStatus.FAILED, LineStatus.RETURNED, "contradicts_failed"),
        (LineStatus.RETURNED, LineStatus.PAID, "contradicts_returned"),
        (LineStatus.RETURNED, LineStatus.FAILED, "contradicts_returned"),
        (LineStatus.REVERSED, LineStatus.PAID, Effect.NONE),  # reversed by hand (冲正): what the bank said before
        (LineStatus.REVERSED, LineStatus.RETURNED, Effect.NONE),  # the reversal already undid the payment
        (LineStatus.REVERSED, LineStatus.FAILED, "contradicts_paid"),
    ],
)
def test_each_outcome_on_each_line_status(current: LineStatus, reported: LineStatus, expected: object) -> None:
    effect = effect_of(current, reported)
    assert (effect if isinstance(effect, Effect) else effect[0]) == expected


def _line(
    status: LineStatus,
    *,
    ref: UUID | None = None,
    line_no: int = 1,
    fen: int = 100,
    serial: str | None = None,
    day: date = date(2020, 6, 15),
) -> ResultLine:
    reason = None if status is LineStatus.PAID else BankFailure.OTHER
    return ResultLine(2, line_no, ref or UUID(REF), fen, status, reason, serial, day)


def _state(status: LineStatus = LineStatus.PENDING, **changes: Any) -> LineState:
    values: dict[str, Any] = {
        "batch_id": BATCH, "line_no": 1, "amount_fen": 100, "status": status, "settled_on": None, **changes
    }  # fmt: skip
    return LineState(**values)


@pytest.mark.parametrize(
    ("line", "state", "code"),
    [
        (_line(LineStatus.PAID), None, "unknown_reference"),
        (_line(LineStatus.PAID), _state(batch_id=UUID(int=8)), "wrong_batch"),
        (_line(LineStatus.PAID, line_no=2), _state(), "line_no_mismatch"),
        (_line(LineStatus.PAID, fen=101), _state(), "amount_mismatch"),
        (_line(LineStatus.PAID), _state(holder_paid_by_hand=True), "holder_paid_by_hand"),
        (_line(LineStatus.PAID), _state(entitlement_paid=True), "entitlement_paid"),
        (_line(LineStatus.RETURNED), _state(LineStatus.PAID, payment_status=PaymentStatus.PAID,
                                            settled_on=date(2020, 6, 16)), "bad_settled_on"),
    ],
)  # fmt: skip
def test_a_line_that_does_not_fit_the_batch_is_an_error(line: ResultLine, state: LineState | None, code: str) -> None:
    planned, errors = plan([line], {} if state is None else {line.reference: state}, batch_id=BATCH)
    assert planned == [] and _codes(errors) == [("line 2", code)]


def test_lines_that_fit_are_planned_with_their_effect() -> None:
    paid, failed, again = uuid4(), uuid4(), uuid4()
    lines = [
        _line(LineStatus.PAID, ref=paid),
        _line(LineStatus.FAILED, ref=failed, line_no=2),
        _line(LineStatus.PAID, ref=again, line_no=3),
    ]
    known = {
        paid: _state(),  # a follow-up paying a returned entitlement: its payment reversed, none paid
        failed: _state(line_no=2),
        again: _state(LineStatus.PAID, line_no=3, payment_status=PaymentStatus.PAID, settled_on=date(2020, 6, 15)),
    }
    planned, errors = plan(lines, known, batch_id=BATCH)
    assert errors == [] and [p.effect for p in planned] == [Effect.PAY, Effect.FAIL, Effect.NONE]


FIRST_PAID = {"settled_on": date(2020, 6, 15), "bank_reference": "B0001", "payment_status": PaymentStatus.PAID}


@pytest.mark.parametrize(
    ("line", "state", "expected"),
    [
        (_line(LineStatus.PAID, serial="B0001"), _state(LineStatus.PAID, **FIRST_PAID), Effect.NONE),
        (_line(LineStatus.PAID, serial=None), _state(LineStatus.PAID, **FIRST_PAID), Effect.NONE),  # no serial
        (_line(LineStatus.PAID, serial="B0001"), _state(LineStatus.PAID, **{**FIRST_PAID, "bank_reference": None}),
         Effect.NONE),
        (_line(LineStatus.PAID, serial="DUP-2"), _state(LineStatus.PAID, **FIRST_PAID), Effect.DUPLICATE),
        (_line(LineStatus.PAID, serial="B0001", day=date(2020, 6, 18)), _state(LineStatus.PAID, **FIRST_PAID),
         Effect.DUPLICATE),
        (_line(LineStatus.PAID, day=date(2020, 6, 18)), _state(LineStatus.PAID, **FIRST_PAID), Effect.DUPLICATE),
        (_line(LineStatus.PAID, serial="DUP-2"),
         _state(LineStatus.REVERSED, **{**FIRST_PAID, "payment_status": PaymentStatus.REVERSED}), Effect.DUPLICATE),
        (_line(LineStatus.PAID, serial="B0001"),
         _state(LineStatus.REVERSED, **{**FIRST_PAID, "payment_status": PaymentStatus.REVERSED}), Effect.NONE),
        (_line(LineStatus.RETURNED, serial="R1", day=date(2020, 6, 20)),
         _state(LineStatus.REVERSED, **{**FIRST_PAID, "payment_status": PaymentStatus.REVERSED}), Effect.NONE),
    ],
)  # fmt: skip
def test_a_paid_line_reported_paid_under_another_serial_or_day_was_paid_twice(
    line: ResultLine, state: LineState, expected: Effect
) -> None:
    planned, errors = plan([line], {line.reference: state}, batch_id=BATCH)
    assert errors == [] and [p.effect for p in planned] == [expected]


@pytest.mark.parametrize(
    ("payment", "expected"),
    [
        (PaymentStatus.PAID, Effect.RETURN),
        # The money came back to a payment already undone: nothing is left to reverse, and the file is not refused.
        (PaymentStatus.RECOVERED, Effect.NONE),
        (PaymentStatus.REVERSED, Effect.NONE),
    ],
)
def test_a_return_reverses_a_paid_payment_and_changes_nothing_once_the_payment_was_undone(
    payment: PaymentStatus, expected: Effect
) -> None:
    returned, paid = _line(LineStatus.RETURNED, day=date(2020, 6, 20)), _line(LineStatus.PAID, ref=uuid4(), line_no=2)
    known = {
        returned.reference: _state(LineStatus.PAID, **{**FIRST_PAID, "payment_status": payment}),
        paid.reference: _state(line_no=2),
    }
    planned, errors = plan([returned, paid], known, batch_id=BATCH)
    assert errors == [] and [p.effect for p in planned] == [expected, Effect.PAY]
