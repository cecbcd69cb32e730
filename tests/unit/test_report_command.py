"""`poverty report` end to end in one process against services standing in on loopback: the options refused with
exit status 2 and nothing written, a service that refuses or answers garbage recorded as the source's error with
exit status 1 and the report still written. (The HTML page is H2's: stood in for here.)"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import pytest

from shared.half_year_report import command
from shared.half_year_report.document import Document
from shared.half_year_report.period import period_of
from shared.settings import DEV_JWT_SECRET
from tests.stub_http import serving
from tests.unit.report_parts import part

ANSWERS: dict[str, tuple[int, bytes]] = {}  # service -> (status, body), set per test
SEEN: list[dict[str, Any]] = []
Q2 = (date(2020, 4, 1), date(2020, 6, 30))


class _Services(BaseHTTPRequestHandler):
    """Each service at /<service>/v1/report; households' statistics name the townships."""

    def do_GET(self) -> None:
        url = urlparse(self.path)
        service, _, route = url.path.strip("/").partition("/")
        SEEN.append({"service": service, "route": route, "query": parse_qs(url.query),
                     "auth": self.headers.get("Authorization")})  # fmt: skip
        if route == "v1/statistics":
            status, body = 200, json.dumps({"parts": [{"area_code": "371523103", "name": "博平镇"}]}).encode()
        else:
            status, body = ANSWERS[service]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serving(_Services) as url:
        yield url


@pytest.fixture(autouse=True)
def page(monkeypatch: pytest.MonkeyPatch) -> list[Document]:
    rendered: list[Document] = []

    def render(document: Document) -> str:
        rendered.append(document)
        return "<!doctype html><title>report</title>"

    monkeypatch.setattr("shared.half_year_report.html.render", render)
    SEEN.clear()
    return rendered


def _args(base: str, out: Path, *options: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="poverty")
    command.add_parser(parser.add_subparsers(dest="command"))
    services = [f"--{s}={base}/{s}" for s in ("households", "projects", "subsidies", "audit")]
    return parser.parse_args(["report", *options, *services, "--token", "t0ken", "--out", str(out)])


def _answer_all(area: str = "371523") -> None:
    for s in ("households", "projects", "subsidies", "audit"):
        ANSWERS[s] = (200, part(s, area).model_dump_json().encode())


def test_the_report_is_written_from_the_four_parts(
    base: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _answer_all()
    assert command.run(_args(base, tmp_path / "r", "--half", "2020-H1")) == 0
    out = tmp_path / "r"
    assert (out / "report.md").read_text("utf-8").startswith("# 全区2020年上半年脱贫攻坚工作总结")
    assert (out / "report.html").exists() and (out / "report.xlsx").exists()
    assert (out / "tables" / "stated_figures.csv").exists()
    assert str(out / "report.md") in capsys.readouterr().out
    reports = [s for s in SEEN if s["route"] == "v1/report"]
    assert sorted(s["service"] for s in reports) == ["audit", "households", "projects", "subsidies"]
    assert all(s["query"] == {"from": ["2020-01-01"], "to": ["2020-06-30"], "area_code": ["371523"]} for s in reports)
    assert all(s["auth"] == "Bearer t0ken" for s in SEEN)


def test_a_township_quarter_is_asked_for_and_named(base: str, tmp_path: Path, page: list[Document]) -> None:
    for s in ANSWERS:
        ANSWERS[s] = (200, part(s, "371523103", *Q2).model_dump_json().encode())
    assert command.run(_args(base, tmp_path, "--quarter", "2020-Q2", "--area-code", "371523103")) == 0
    assert page[0].title == "博平镇2020年第二季度脱贫攻坚工作总结"


def test_services_that_refuse_or_answer_garbage_leave_their_figures_missing(
    base: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], page: list[Document]
) -> None:
    _answer_all()
    ANSWERS["projects"] = (403, b'{"title": "Forbidden", "status": 403}')
    ANSWERS["subsidies"] = (500, b'{"title": "Internal Server Error", "detail": "boom", "status": 500}')
    ANSWERS["audit"] = (200, b"<html>not a part</html>")
    assert command.run(_args(base, tmp_path, "--half", "2020-H1")) == command.SOURCE_ERROR
    errors = {s.service: s.error for s in page[0].sources}
    assert errors["households"] is None
    assert errors["projects"] is not None and errors["projects"].startswith("403: the token's role or area may not")
    assert errors["subsidies"] == "500: boom"
    assert errors["audit"] is not None and errors["audit"].startswith("invalid body")
    assert {s.ref.service for s in page[0].stated() if s.value is None} == {"projects", "subsidies", "audit"}
    assert "未能读取" in (tmp_path / "report.md").read_text("utf-8")
    err = capsys.readouterr().err
    assert "projects not read" in err and "subsidies not read" in err and "audit not read" in err


def test_a_refused_token_and_an_unreachable_service_say_so(base: str, tmp_path: Path, page: list[Document]) -> None:
    _answer_all()
    ANSWERS["households"] = (401, b'{"title": "Unauthorized", "status": 401}')
    args = _args(base, tmp_path, "--half", "2020-H1")
    args.audit = "http://127.0.0.1:9"  # the discard port: nothing listens
    assert command.run(args) == command.SOURCE_ERROR
    errors = {s.service: s.error or "" for s in page[0].sources}
    assert errors["households"].startswith("401: the token was refused")
    assert errors["audit"].startswith("not reachable: ConnectError")


def test_a_part_of_another_period_is_not_taken(base: str, tmp_path: Path, page: list[Document]) -> None:
    _answer_all()
    ANSWERS["households"] = (200, part("households", "371523", *Q2).model_dump_json().encode())
    assert command.run(_args(base, tmp_path, "--half", "2020-H1")) == command.SOURCE_ERROR
    assert [s.error for s in page[0].sources if s.service == "households"] == [
        "invalid body: a part of households for 2020-04-01..2020-06-30 371523"
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--half", "2020-H3"], "--half must be YEAR-H1 or YEAR-H2"),
        (["--quarter", "2020-Q5"], "--quarter must be YEAR-Q1 to YEAR-Q4"),
        (["--from", "2020-01-01"], "--from needs --to"),
        (["--to", "2020-06-30"], "exactly one of --half, --quarter or --from/--to"),
        (["--from", "2020-06-30", "--to", "2020-01-01"], "--to (2020-01-01) is before --from (2020-06-30)"),
        (["--from", "2020-01-01", "--to", "2021-01-02"], "at most 366 days"),
        (["--from", "2020-1-1", "--to", "2020-06-30"], "--from must be a day written YYYY-MM-DD"),
        (["--half", "2020-H1", "--quarter", "2020-Q1"], "exactly one of"),
        ([], "exactly one of"),
        (["--half", "2020-H1", "--area-code", "37152"], "--area-code must be a 6-, 9- or 12-digit area code"),
        (["--half", "2020-H1", "--area-code", "３７１５２３"], "--area-code must be"),
        (["--half", "2020-H1", "--area-code", "110101"], "--area-code 110101 is not the district 371523"),
        (["--half", "2020-H1", "--area-code", "110101001"], "is not the district 371523"),
        (["--half", "2020-H1", "--area-code", "371524101201"], "is not the district 371523"),
        (["--half", "0000-H1"], "--half: there is no year 0000"),
        (["--quarter", "0000-Q3"], "--quarter: there is no year 0000"),
    ],
)
def test_bad_options_exit_2_with_a_message_and_write_nothing(
    base: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    assert command.run(_args(base, tmp_path / "out", *options)) == command.USAGE_ERROR
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and SEEN == []


def test_the_periods_are_the_districts_days() -> None:
    assert period_of(None, "2020-Q1", None, None).end == date(2020, 3, 31)
    assert period_of("2020-H2", None, None, None).label == "2020年下半年"
    custom = period_of(None, None, "2020-01-01", "2020-06-15")
    assert (custom.label, custom.by_end, custom.slug) == (
        "2020年1月1日至2020年6月15日",
        "6月15日前",
        "2020-01-01_2020-06-15",
    )


def test_an_out_that_is_a_file_is_refused(base: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "taken").write_text("x")
    assert command.run(_args(base, tmp_path / "taken", "--half", "2020-H1")) == command.USAGE_ERROR
    assert "is a file, not a directory" in capsys.readouterr().err
    assert (tmp_path / "taken").read_text() == "x" and SEEN == []


def test_an_out_under_a_file_is_refused_before_anything_is_read(
    base: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken").write_text("x")
    assert command.run(_args(base, tmp_path / "taken" / "report", "--half", "2020-H1")) == command.USAGE_ERROR
    assert f"{tmp_path / 'taken'} is a file, not a directory" in capsys.readouterr().err
    assert (tmp_path / "taken").read_text() == "x" and SEEN == []


def test_a_renderer_that_fails_leaves_nothing_half_written(
    base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _answer_all()

    def broken(document: Document) -> str:
        raise RuntimeError("the page could not be drawn")

    monkeypatch.setattr("shared.half_year_report.html.render", broken)
    with pytest.raises(RuntimeError):
        command.run(_args(base, tmp_path / "r", "--half", "2020-H1"))
    assert not (tmp_path / "r").exists()


def _without_token(base: str, out: Path, monkeypatch: pytest.MonkeyPatch) -> argparse.Namespace:
    monkeypatch.delenv(command.TOKEN_ENV, raising=False)
    args = _args(base, out, "--half", "2020-H1")
    args.token = None
    return args


def test_the_development_token_is_said_on_stderr(
    base: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _answer_all()
    assert command.run(_without_token(base, tmp_path, monkeypatch)) == 0
    assert "using a development token for district_office" in capsys.readouterr().err
    (sent,) = {s["auth"].removeprefix("Bearer ") for s in SEEN}
    claims = jwt.decode(sent, DEV_JWT_SECRET, algorithms=["HS256"], audience="poverty-platform")
    assert claims["roles"] == ["district_office"]


def test_the_token_from_the_environment_is_sent_and_nothing_said(
    base: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _answer_all()
    args = _without_token(base, tmp_path, monkeypatch)
    monkeypatch.setenv(command.TOKEN_ENV, "env-t0ken")
    assert command.run(args) == 0
    assert "development token" not in capsys.readouterr().err
    assert {s["auth"] for s in SEEN} == {"Bearer env-t0ken"}


def test_no_development_token_for_a_service_elsewhere(
    base: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = _without_token(base, tmp_path / "out", monkeypatch)
    args.audit = "http://10.20.30.40:8004"
    assert command.run(args) == command.USAGE_ERROR
    assert "no token given ($POVERTY_TOKEN) for http://10.20.30.40:8004" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and SEEN == []
