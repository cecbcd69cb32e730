"""Which entitlements a coverage check (政策落实覆盖核查) finds unpaid."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import NamedTuple
from uuid import UUID


class Entitled(NamedTuple):
    """One entitlement to the policy checked: the household's (member None) or one member's, and where it is."""

    household_id: UUID
    member_id: UUID | None
    area_code: str


def find_gaps(entitled: Iterable[Entitled], paid_households: Collection[UUID]) -> list[Entitled]:
    """The entitlements no payment covers, by household then member.

    A payment is made to a household, once per policy and period, so it covers the household's entitlement and
    every member's entitlement to that policy: two disabled members of one household are paid in one payment.
    """
    gaps = [e for e in entitled if e.household_id not in paid_households]
    return sorted(gaps, key=lambda e: (e.household_id, e.member_id or UUID(int=0)))
