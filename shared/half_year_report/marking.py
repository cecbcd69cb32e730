"""How the report marks a figure it cannot give, in one wording for every renderer: 〔缺: what it is〕 for one the
platform does not hold, 〔缺: <service>服务本次未能读取 (<figure>)〕 for one whose service could not be read, and
〔缺: <service>服务未报此数 (<figure>)〕 for one a service that was read did not report. `hint` is what the page shows
on hovering: how the seed wrote the number, or the figure's reference."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.half_year_report.document import Missing, Part, Source, Stated


@dataclass(frozen=True)
class Mark:
    text: str
    hint: str


def unread(sources: Iterable[Source]) -> frozenset[str]:
    """The services whose part could not be read."""
    return frozenset(s.service for s in sources if s.error)


def is_marked(part: Part) -> bool:
    return isinstance(part, Missing) or (isinstance(part, Stated) and part.value is None)


def mark(part: Missing | Stated, not_read: frozenset[str]) -> Mark:
    """The mark of a figure not given: missing, or stated without a value."""
    if isinstance(part, Missing):
        return Mark(f"〔缺: {part.what}〕", f"原报告(2020年上半年)写作: {part.seed_written}")
    why = "本次未能读取" if part.ref.service in not_read else "未报此数"
    return Mark(f"〔缺: {part.ref.service}服务{why} ({part.ref})〕", str(part.ref))
