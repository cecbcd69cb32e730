"""Reading the services' parts: an answer not whole within the deadline, a body past the size limit, and a part
whose figures are ambiguous (split by two dimensions, given twice, a split past its length) are each the source's
error, with its figures missing; never a hang, a memory blow-up or a figure silently overwritten."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from shared.half_year_report import fetch as fetching
from shared.half_year_report.period import period_of
from shared.reporting import Figure, Unit
from tests.stub_http import serving
from tests.unit.report_parts import part

H1 = period_of("2020-H1", None, None, None)
BODIES: dict[str, bytes] = {}  # service -> the body it answers
TRICKLED = "households"  # this service sends its body a byte-run at a time


class _Services(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        service = self.path.strip("/").split("/")[0]
        body = BODIES.get(service, b"{}")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if service != TRICKLED:
            self.wfile.write(body)
            return
        for start in range(0, len(body), 64):
            self.wfile.write(body[start : start + 64])
            self.wfile.flush()
            time.sleep(0.05)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serving(_Services) as url:
        yield url


def _errors(base: str) -> dict[str, str | None]:
    bases = {s: f"{base}/{s}" for s in ("households", "projects", "subsidies", "audit")}
    fetched = asyncio.run(fetching.fetch(bases, "t0ken", H1, "371523"))
    return {s.service: s.error for s in fetched.sources}


def _with(service: str, *extra: Figure) -> bytes:
    seed = part(service)
    return seed.model_copy(update={"figures": [*seed.figures, *extra]}).model_dump_json().encode()


def test_an_answer_not_whole_by_the_deadline_is_not_waited_for(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    BODIES.update({s: part(s).model_dump_json().encode() for s in ("households", "projects", "subsidies", "audit")})
    monkeypatch.setattr(fetching, "TIMEOUT_S", 0.5)  # the trickled body takes seconds, each byte-run well within it

    errors = _errors(base)

    assert errors["households"] == "no whole answer within 0.5 s"
    assert errors["projects"] is None


def test_a_body_past_the_limit_is_not_read_on(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    BODIES.update({s: part(s).model_dump_json().encode() for s in ("households", "projects", "subsidies", "audit")})
    BODIES["audit"] = b"[" + b"0," * 20_000 + b"0]"
    monkeypatch.setattr(fetching, "MAX_BODY_BYTES", 10_000)

    errors = _errors(base)

    assert errors["audit"] == "invalid body: larger than 10000 bytes"
    assert errors["projects"] is None


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        (
            Figure(key="paid.amount", value=1, unit=Unit.FEN, by={"programme": "dibao", "township": "371523101"}),
            "invalid body: figure 'paid.amount' is split by 2 dimensions, not one",
        ),
        (
            Figure(key="paid.amount", value=1, unit=Unit.FEN, by={"programme": "rain_and_dew_education_aid"}),
            "invalid body: figure 'paid.amount' is given twice for the same split",
        ),
        (
            Figure(key="paid.amount", value=1, unit=Unit.FEN, by={"programme": "x" * 101}),
            "invalid body: figure 'paid.amount' has a split longer than 100 characters",
        ),
    ],
)
def test_a_part_with_ambiguous_figures_is_refused(base: str, extra: Figure, error: str) -> None:
    BODIES.update({s: part(s).model_dump_json().encode() for s in ("projects", "audit")})
    BODIES["subsidies"] = _with("subsidies", extra)

    assert _errors(base)["subsidies"] == error
