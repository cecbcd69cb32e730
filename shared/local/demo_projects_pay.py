"""The projects demo's approved plan and payroll paid through subsidies, as `demo_subsidies` pays June 2020.

Subsidies takes each approval from `projects.events` as a cycle approved already, its id the plan's or payroll's.
Its stages run here, in a subsidies app on the running service's own database with the request clock moved (see
`demo_subsidies`): the demo households' accounts recorded where they have none, a batch built and its bank file
exported in the first week of July 2020 (June's orders paid), the bank's all-paid result imported, the cycle
closed. What the stages publish waits in the outbox for the running service's relay: projects marks the shares and
lines paid, households counts them as asset and wage income. A cycle found paid or closed is left as it is.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from shared.local.demo_subsidies import BANK_DAYS, PREPARER, DemoError, Month, Run, in_process_subsidies

ORDERS_PAID = date(2020, 7, 6)  # June's plan and payroll: a batch built and sent to the bank
CYCLE_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Order:
    """A plan or payroll approved in projects, paid as subsidies' cycle of the same id."""

    run: Run
    cycle_id: str


class OrderMonth(Month):
    """The stages on the days June's orders are paid, in July 2020: no notice, no approval (made in projects)."""

    def __init__(self, app: Any, client: httpx.AsyncClient, households: dict[str, Any]) -> None:
        super().__init__(app, client, 1, households)
        self.approved = ORDERS_PAID
        self.settled = self.approved + timedelta(days=BANK_DAYS)
        self.followed_up = self.settled + timedelta(days=1)
        self.closes = self.followed_up + timedelta(days=BANK_DAYS + 1)


def pay(database_url: str, households: dict[str, dict[str, Any]], orders: list[Order]) -> list[str]:
    """Pay each order's cycle to closed; the summary's line of each."""
    return asyncio.run(_pay(database_url, households, orders))


async def _pay(database_url: str, households: dict[str, dict[str, Any]], orders: list[Order]) -> list[str]:
    async with in_process_subsidies(database_url) as (app, client, _):
        month = OrderMonth(app, client, households)
        cycles = [await _taken(client, order) for order in orders]
        if any(cycle["status"] == "approved" for cycle in cycles):
            await month.accounts()
        return [await month.pay(order.run, cycle) for order, cycle in zip(orders, cycles, strict=True)]


async def _taken(client: httpx.AsyncClient, order: Order) -> dict[str, Any]:
    """The order's cycle, once the running subsidies service has taken the order from projects' event."""
    deadline = time.monotonic() + CYCLE_TIMEOUT_S
    while True:
        response = await client.get(f"/v1/cycles/{order.cycle_id}", headers=PREPARER)
        if response.status_code == 200:
            cycle: dict[str, Any] = response.json()
            return cycle
        if response.status_code not in (404, 503) or time.monotonic() > deadline:
            raise DemoError(f"subsidies did not take the {order.run.name} {order.cycle_id}: {response.status_code}")
        await asyncio.sleep(0.5)
