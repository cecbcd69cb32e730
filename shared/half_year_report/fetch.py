"""Read the four services' parts of the report (`GET /v1/report`) over REST, as an integrator would, concurrently.

A part that cannot be read (refused connection, no whole answer within `TIMEOUT_S`, 4xx/5xx, a body larger than
`MAX_BODY_BYTES` or not a `ReportPart` for the period and area asked for, a figure given twice or split by more than
one dimension) becomes a `Source` with its `error`; its figures are then missing from the report, never zero.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from pydantic import ValidationError

from shared.half_year_report.document import FigureRef, Source
from shared.half_year_report.figures import ref_of
from shared.half_year_report.period import Period
from shared.reporting import ReportPart

# Where `poverty up` serves each service (their settings' default ports).
DEFAULT_BASES = {
    "households": "http://127.0.0.1:8001",
    "projects": "http://127.0.0.1:8002",
    "subsidies": "http://127.0.0.1:8003",
    "audit": "http://127.0.0.1:8004",
}
TIMEOUT_S = 60.0  # the whole answer, however slowly sent: a district-wide part is a few aggregate queries
MAX_BODY_BYTES = 4 * 1024 * 1024  # 2,000 figures (reporting.MAX_FIGURES) of ~300 bytes are about 1 MiB
MAX_SPLIT_CHARS = 100  # a split's value is a code or a short name


class _TooLarge(Exception):
    """The answer's body is longer than MAX_BODY_BYTES: not read on."""


@dataclass(frozen=True)
class Fetched:
    """The parts read (by service), every service's `Source`, and the township names households knows."""

    parts: dict[str, ReportPart]
    sources: tuple[Source, ...]
    township_names: dict[str, str]


def _refusal(response: httpx.Response, area_code: str) -> str:
    if response.status_code == 401:
        return "401: the token was refused (missing, expired or signed with another secret): pass --token"
    if response.status_code == 403:
        return f"403: the token's role or area may not read this service's report for area {area_code}"
    try:
        body = json.loads(response.content)
        detail = (body.get("detail") or body.get("title")) if isinstance(body, dict) else None
    except ValueError:
        detail = None
    return f"{response.status_code}: {detail or response.reason_phrase}"


def _part(response: httpx.Response, service: str, period: Period, area_code: str) -> ReportPart | str:
    """The part, or why the body is not one for the period and area asked for."""
    try:
        part = ReportPart.model_validate_json(response.content)
    except ValidationError as exc:
        return f"invalid body: not a report part ({exc.error_count()} errors)"
    asked = (service, period.start, period.end, area_code)
    if (part.service, part.period_from, part.period_to, part.area_code) != asked:
        return f"invalid body: a part of {part.service} for {part.period_from}..{part.period_to} {part.area_code}"
    flaw = _flaw(part)
    return f"invalid body: {flaw}" if flaw else part


def _flaw(part: ReportPart) -> str | None:
    """What makes the part's figures ambiguous, if anything: a split of more than one dimension, a split's value
    longer than MAX_SPLIT_CHARS, a figure given twice."""
    seen: set[FigureRef] = set()
    for figure in part.figures:
        if len(figure.by) > 1:
            return f"figure {figure.key!r} is split by {len(figure.by)} dimensions, not one"
        if any(len(text) > MAX_SPLIT_CHARS for item in figure.by.items() for text in item):
            return f"figure {figure.key!r} has a split longer than {MAX_SPLIT_CHARS} characters"
        ref = ref_of(part.service, figure.key, figure.by)
        if ref in seen:
            return f"figure {figure.key!r} is given twice for the same split"
        seen.add(ref)
    return None


async def _get(client: httpx.AsyncClient, url: str, params: dict[str, str]) -> httpx.Response:
    """The answer, its body read whole within TIMEOUT_S and at most MAX_BODY_BYTES long."""
    async with asyncio.timeout(TIMEOUT_S), client.stream("GET", url, params=params) as response:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise _TooLarge
    return httpx.Response(response.status_code, content=bytes(body))


async def _read(
    client: httpx.AsyncClient, service: str, base: str, period: Period, area_code: str
) -> tuple[Source, ReportPart | None]:
    url = f"{base.rstrip('/')}/v1/report"
    params = {"from": period.start.isoformat(), "to": period.end.isoformat(), "area_code": area_code}
    try:
        response = await _get(client, url, params)
    except httpx.HTTPError as exc:
        return Source(service, url, None, f"not reachable: {type(exc).__name__} {exc}".strip()), None
    except TimeoutError:
        return Source(service, url, None, f"no whole answer within {TIMEOUT_S:g} s"), None
    except _TooLarge:
        return Source(service, url, None, f"invalid body: larger than {MAX_BODY_BYTES} bytes"), None
    if response.status_code != 200:
        return Source(service, url, None, _refusal(response, area_code)), None
    part = _part(response, service, period, area_code)
    if isinstance(part, str):
        return Source(service, url, None, part), None
    return Source(service, url, part.computed_at), part


async def _township_names(client: httpx.AsyncClient, base: str, area_code: str) -> dict[str, str]:
    """The district's townships by code, from households' statistics (`parts[].name`); {} when it cannot say: the
    report then names a township by its code."""
    try:
        response = await _get(client, f"{base.rstrip('/')}/v1/statistics", {"area_code": area_code[:6]})
        parts = json.loads(response.content)["parts"] if response.status_code == 200 else []
        return {p["area_code"]: p["name"].strip() for p in parts if _is_name(p.get("name"))}
    except (httpx.HTTPError, TimeoutError, _TooLarge, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _is_name(name: object) -> bool:
    return isinstance(name, str) and 0 < len(name.strip()) <= MAX_SPLIT_CHARS


async def fetch(bases: Mapping[str, str], token: str, period: Period, area_code: str) -> Fetched:
    """Every service's part for the period and area, read at once."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=TIMEOUT_S) as client:
        reads = [_read(client, service, base, period, area_code) for service, base in bases.items()]
        names = _township_names(client, bases["households"], area_code)
        results, townships = await asyncio.gather(asyncio.gather(*reads), names)
    parts = {source.service: part for source, part in results if part is not None}
    return Fetched(parts, tuple(source for source, _ in results), townships)
