"""How a distribution plan shares an asset's income (收益分配): the set-asides first, then the rest among the entitled
households by weight, in whole fen that add up to the income exactly.

Each set-aside purpose (公益岗位, 双提升 help) gets income × share_bp // 10000 (floor). The rest goes to households
in proportion to their weights by the largest-remainder method: each first gets the whole fen of its exact share,
then the fen left over go one each to the households with the largest fractions, ties broken by household id, so
the result is the same whatever the order of the input.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from uuid import UUID

from services.projects.rules.vocabulary import DistributionBasis, HouseholdCategory

BASIS_POINTS = 10_000  # the whole income: 10000 bp = 100 %


@dataclass(frozen=True)
class Division:
    """An income divided: what each purpose keeps back, what is left to share, and each household's share."""

    set_asides: dict[str, int]
    shared_fen: int
    shares: dict[UUID, int]


def set_aside_amounts(amount_fen: int, shares_bp: Mapping[str, int]) -> dict[str, int]:
    """What each purpose keeps back of the income: its basis points of it, rounded down to the fen."""
    if any(bp < 0 for bp in shares_bp.values()) or sum(shares_bp.values()) > BASIS_POINTS:
        raise ValueError("set-asides are between 0 and 10000 basis points in all")
    return {purpose: amount_fen * bp // BASIS_POINTS for purpose, bp in shares_bp.items()}


def weight_of(
    basis: DistributionBasis,
    *,
    living_members: int,
    categories: Collection[HouseholdCategory],
    points: Mapping[HouseholdCategory, int] | None,
) -> int:
    """A household's units under the plan's rule: its living members, one per household, or the points of its
    categories added up (one point for a household in none)."""
    if basis is DistributionBasis.MEMBERS:
        return living_members
    if basis is DistributionBasis.HOUSEHOLDS:
        return 1
    if points is None:
        raise ValueError("a plan by categories states the points of each category")
    return sum(points[category] for category in categories) or 1


def largest_remainder(total_fen: int, weights: Mapping[UUID, int]) -> dict[UUID, int]:
    """`total_fen` shared in proportion to `weights` in whole fen summing exactly to it (none: nothing shared)."""
    if total_fen < 0 or any(w < 1 for w in weights.values()):
        raise ValueError("a total of no fewer than 0 fen among weights of at least 1")
    whole = sum(weights.values())
    if whole == 0:
        return {}
    shares = {hid: total_fen * w // whole for hid, w in weights.items()}
    leftover = total_fen - sum(shares.values())
    by_fraction = sorted(weights, key=lambda hid: (-(total_fen * weights[hid] % whole), hid))
    for hid in by_fraction[:leftover]:
        shares[hid] += 1
    return shares


def divide(amount_fen: int, *, set_asides_bp: Mapping[str, int], weights: Mapping[UUID, int]) -> Division:
    """The income divided: set-asides first, the rest by weight. Set-asides and shares add up to `amount_fen`."""
    kept = set_aside_amounts(amount_fen, set_asides_bp)
    shared = amount_fen - sum(kept.values())
    return Division(set_asides=kept, shared_fen=shared, shares=largest_remainder(shared, weights))


def percent(bp: int) -> str:
    """Basis points as a percentage in words, without floats: 2000 -> "20 %", 1250 -> "12.5 %"."""
    whole, rest = divmod(bp, 100)
    return f"{whole} %" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + " %"


def place_of(area_code: str) -> str:
    """How an explanation names an area: "village 371523101201", "township 371523101"."""
    return f"{'village' if len(area_code) == 12 else 'township'} {area_code}"


def explain(
    basis: DistributionBasis,
    *,
    weight: int,
    total_weight: int,
    household_count: int,
    area_code: str,
    shared_fen: int,
    set_aside_bp: int,
    categories: Collection[HouseholdCategory],
    amount_fen: int,
) -> str:
    """One sentence in plain words saying why a household gets its share, e.g. "3 living members of 41 in village
    371523101201: 3/41 of 100,000 fen after 20 % set aside: 7,317 fen"."""
    place = place_of(area_code)
    if basis is DistributionBasis.MEMBERS:
        noun = "living member" if weight == 1 else "living members"
        who = f"{weight} {noun} of {total_weight} in {place}"
    elif basis is DistributionBasis.HOUSEHOLDS:
        who = f"1 of {household_count} households in {place}, shared equally"
    else:
        named = ", ".join(sorted(c.value.replace("_", " ") for c in categories)) or "no category"
        who = f"{weight} {'point' if weight == 1 else 'points'} ({named}) of {total_weight} in {place}"
    after = f" after {percent(set_aside_bp)} set aside" if set_aside_bp else ""
    return f"{who}: {weight}/{total_weight} of {shared_fen:,} fen{after}: {amount_fen:,} fen"
