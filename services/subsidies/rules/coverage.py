"""Which holders a coverage check (政策落实覆盖核查) finds entitled, and which of them went unpaid."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import NamedTuple
from uuid import UUID

from services.subsidies.rules.eligibility import HolderFacts, evaluate
from services.subsidies.rules.vocabulary import holder_key


class Entitled(NamedTuple):
    """One holder the rule entitles: the household (member None) or one member, and where the household is."""

    household_id: UUID
    member_id: UUID | None
    area_code: str


def entitled_holders(rule: Sequence[Mapping[str, object]], holders: Iterable[HolderFacts]) -> list[Entitled]:
    """The holders whose facts meet every condition of the rule."""
    return [Entitled(h.household_id, h.member_id, h.area_code) for h in holders if evaluate(rule, h).entitled]


def find_gaps(entitled: Iterable[Entitled], paid: Collection[tuple[UUID, str]]) -> list[Entitled]:
    """The entitled holders no payment covers, by household then member (the household's own first).

    A payment covers one holder, `(household id, holder key)`: a member's programme pays each entitled member.
    """
    gaps = [e for e in entitled if (e.household_id, holder_key(e.member_id)) not in paid]
    return sorted(gaps, key=lambda e: (e.household_id, e.member_id or UUID(int=0)))
