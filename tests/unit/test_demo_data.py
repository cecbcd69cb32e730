"""The demo loader's parts that need no platform: the bank's answer it writes, the households it will not pay on,
and `poverty up` going on when the month cannot be paid (tests/e2e/test_demo_data.py loads it end to end)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from services.subsidies.rules.bank_file import ExportLine, ExportWriter
from services.subsidies.rules.bank_results import parse_file
from services.subsidies.rules.vocabulary import BankFailure, LineStatus
from shared.local import demo, platform
from shared.local.demo_subsidies import DemoError, result_file


def test_the_banks_answer_reads_as_the_service_reads_a_result_file() -> None:
    writer = ExportWriter()
    batch = uuid.uuid4()
    references = [uuid.uuid4(), uuid.uuid4()]
    writer.write(
        ExportLine(n, batch, f"62170315{n:011d}", name, 51_600, "农村最低生活保障 (低保) 2020-06", references[n - 1])
        for n, name in ((1, "王秀英"), (2, "李桂兰"))
    )
    text = result_file(writer.text(), {1}, date(2020, 6, 12))
    lines, errors = parse_file(text, today=date(2020, 6, 12))
    assert errors == []
    assert [(line.reference, line.status, line.reason, line.amount_fen) for line in lines] == [
        (references[0], LineStatus.FAILED, BankFailure.ACCOUNT_CLOSED, 51_600),
        (references[1], LineStatus.PAID, None, 51_600),
    ]
    assert text.encode("gbk").decode("gbk") == text  # sent back as the county bank writes it


def test_households_of_an_earlier_demo_are_named_and_not_paid_on() -> None:
    now = {demo.code_of(n): {"members": demo._household(n, head)["members"]} for n, head in enumerate(demo.HEADS)}
    assert demo._stale(now) == ""
    earlier = {code: {"members": h["members"][:1]} for code, h in now.items()}  # the head alone, as it was
    assert demo._stale(earlier) == ", ".join(demo.code_of(n) for n, m in demo.MEMBERS.items() if m)


def test_the_platform_runs_on_when_the_month_cannot_be_paid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(platform, "STATE", tmp_path)
    monkeypatch.setattr(platform, "_migrate", lambda _: asyncio.sleep(0))

    def refused(urls: dict[str, str], *, subsidies_database_url: str) -> Any:
        assert subsidies_database_url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'subsidies'}.db"
        raise DemoError("subsidies did not learn the demo households' facts in 120 s")

    monkeypatch.setattr(demo, "load", refused)
    started: list[str] = []
    processes = [
        SimpleNamespace(
            name=name,
            base_url="http://x",
            metrics_url="http://x/metrics",
            log_path=tmp_path / f"{name}.log",
            start=lambda name=name: started.append(name),
            wait_ready=lambda: None,
        )
        for name in platform.SERVICES
    ]
    platform._start(processes, SimpleNamespace(bootstrap_servers="127.0.0.1:9092"), True)  # type: ignore[arg-type]
    out, err = capsys.readouterr()
    assert started == list(platform.SERVICES)
    assert "not paid: subsidies did not learn" in err
    assert "The platform is up" in out
