"""How project income is shared out among poor households (差异化分配)."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID


def allocate_by_members(amount_fen: int, households: Mapping[UUID, int]) -> dict[UUID, int]:
    """Share `amount_fen` among households in proportion to their members, in whole fen.

    Each household first gets the whole fen of its exact share; the fen left over go one at a time to
    the households with the largest fractions, ties broken by household id, so the result is the same
    whatever the input order and always sums exactly to `amount_fen`. No households, nothing shared.
    """
    if amount_fen < 0:
        raise ValueError("amount_fen must not be negative")
    if any(count < 1 for count in households.values()):
        raise ValueError("every household has at least one member")
    total_members = sum(households.values())
    if total_members == 0:
        return {}
    shares = {hid: amount_fen * count // total_members for hid, count in households.items()}
    leftover = amount_fen - sum(shares.values())
    by_fraction = sorted(households, key=lambda hid: (-(amount_fen * households[hid] % total_members), str(hid)))
    for hid in by_fraction[:leftover]:
        shares[hid] += 1
    return shares
