"""A holder paid once whichever way the money goes, on real PostgreSQL: a line the bank pays twice is kept as one
duplicate disbursement, a bank payment reversed by hand is followed up into the same account, a payment by hand
waits for a live bank line, and the bank's return of a recovered payment changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.support import assert_problem
from tests.unit import test_subsidies_paid_once as flows
from tests.unit.test_subsidies_paid_once import (
    H,
    accounts,
    all_paid,
    approved_cycle,
    awaiting,
    bank_pays_a_line_twice,
    build,
    correct,
    exported_batch,
    import_file,
    lines_of,
    pay_by_hand,
    paying_app,
    payments_of,
)

pytestmark = pytest.mark.integration
MakeDb = Callable[[str], Awaitable[str]]


async def test_a_line_the_bank_pays_twice_is_one_duplicate_disbursement(pg_database: MakeDb) -> None:
    async with paying_app(await pg_database("subsidies")) as (app, client, clock):
        await bank_pays_a_line_twice(app, client, clock)


async def test_a_bank_payment_reversed_by_hand_is_followed_up_and_hand_payments_wait(pg_database: MakeDb) -> None:
    async with paying_app(await pg_database("subsidies")) as (_, client, clock):
        cycle_id = await approved_cycle(client, clock)
        payees = await accounts(client)
        batch_id, lines = await exported_batch(client, cycle_id)
        assert assert_problem(await pay_by_hand(client, H[0], "hand-0"), 409)["code"] == "bank_line_live"
        assert (await import_file(client, batch_id, all_paid(lines))).status_code == 200
        [paid] = await payments_of(client, H[0])

        assert (await correct(client, paid["id"], "reversal")).status_code == 201

        assert (await lines_of(client, batch_id))[H[0]]["status"] == "reversed"
        assert await awaiting(client, cycle_id) == {H[0]: "ready"}
        follow_up = await build(client, cycle_id)
        assert follow_up.status_code == 201, follow_up.text
        again = await lines_of(client, follow_up.json()["id"])
        assert set(again) == {H[0]} and again[H[0]]["payee"]["id"] == payees[H[0]]


async def test_the_banks_return_of_a_recovered_payment_changes_nothing(pg_database: MakeDb) -> None:
    async with paying_app(await pg_database("subsidies")) as running:
        await flows.test_the_banks_return_of_a_recovered_payment_changes_nothing_and_the_files_other_lines_are_imported(
            running
        )
