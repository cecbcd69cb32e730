"""`poverty` is the one command line: every operator tool is a subcommand with help in the domain's words, it
refuses a bad configuration with where and what (never the configuration's values), and it issues no token that
the services would refuse."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import jwt
import pytest

import shared.cli as cli
import shared.local.kafka as local_kafka
from shared.auth import AREA_SCOPED, Role, TokenVerifier
from shared.cli import CONFIGURATION_ERROR, USAGE_ERROR, main
from shared.local import demo
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
VILLAGE, TOWNSHIP, DISTRICT = "371523101201", "371523101", "371523"


def test_a_refused_configuration_names_the_setting_but_not_the_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "c2VjcmV0LWhtYWMta2V5LW9mLXRoZS1kaXN0cmljdC0xMjM0NTY="
    monkeypatch.setenv("HOUSEHOLDS_IDCARD_HMAC_KEY", secret)
    monkeypatch.setenv("HOUSEHOLDS_KAFKA_SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("HOUSEHOLDS_KAFKA_SSL_CAFILE", "/nonexistent/ca.pem")  # a model-level check fails
    assert main(["migrate", "households"]) == CONFIGURATION_ERROR
    err = capsys.readouterr().err
    assert "kafka TLS file not found" in err
    assert secret not in err and secret[-10:] not in err and "input" not in err


# ---- token -------------------------------------------------------------------------------------------------------


def verified(token: str) -> Any:
    return TokenVerifier(ServiceSettings(database_url="unused")).verify(token)


def test_a_development_token_lives_no_longer_than_services_accept(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "district_office", "--ttl", str(13 * 3600)]) == CONFIGURATION_ERROR
    assert "--ttl must be 1-43200 seconds" in capsys.readouterr().err
    assert main(["token", "--role", "district_office", "--ttl", "600"]) == 0
    assert capsys.readouterr().out.count(".") == 2  # one JWT: header.claims.signature


@pytest.mark.parametrize("role", sorted(AREA_SCOPED))
def test_an_area_scoped_role_without_an_area_gets_no_token(role: Role, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", role.value]) == USAGE_ERROR == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert role.value in err and "--area" in err


def test_a_scoped_role_beside_a_district_wide_one_still_needs_an_area(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "auditor", "--role", "township_office"]) == USAGE_ERROR
    out, err = capsys.readouterr()
    assert out == "" and "township_office" in err and "auditor" not in err


@pytest.mark.parametrize("area", ["37152", "3715231012", "3715231012011", "37152310120a", "３７１５２３"])
def test_an_area_that_is_no_division_code_gets_no_token(area: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "village_cadre", "--area", area]) == USAGE_ERROR
    out, err = capsys.readouterr()
    assert out == "" and "6-digit district, 9-digit township or 12-digit village" in err


@pytest.mark.parametrize(("role", "area"), [("village_cadre", VILLAGE), ("township_office", TOWNSHIP)])
def test_a_scoped_role_with_its_area_gets_a_token_the_services_accept(
    role: str, area: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "--role", role, "--area", area]) == 0
    principal = verified(capsys.readouterr().out.strip())
    assert principal.roles == {Role(role)} and principal.area == area


def test_a_district_wide_role_needs_no_area(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "district_office", "--sub", "officer-7"]) == 0
    principal = verified(capsys.readouterr().out.strip())
    assert principal.subject == "officer-7" and principal.area is None and principal.can_reach(VILLAGE)
    assert main(["token", "--role", "auditor", "--area", DISTRICT]) == 0  # an area it does not need is no harm


def test_a_role_the_services_do_not_know_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["token", "--role", "mayor"])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and "invalid choice: 'mayor'" in err


def test_the_token_is_signed_with_the_configured_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "a-district-secret-of-at-least-32-characters"
    monkeypatch.setenv("JWT_SECRET", secret)
    assert main(["token", "--role", "inspector"]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), secret, algorithms=["HS256"], audience="poverty-platform")
    assert claims["roles"] == ["inspector"]


# ---- the one command line ----------------------------------------------------------------------------------------


def subcommands(parser: argparse.ArgumentParser) -> dict[str, tuple[str, argparse.ArgumentParser]]:
    """Each subcommand's name, its one-line help and its parser."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
    return {name: (helps[name], sub) for name, sub in action.choices.items()}


def test_every_tool_is_a_subcommand_with_help() -> None:
    commands = subcommands(cli._parser())
    assert set(commands) == {
        "serve", "migrate", "up", "demo-data", "token", "replay-dlq", "kafka", "openapi", "asyncapi", "import",
        "rekey", "verify-ledger", "quarantine", "report", "demo",
    }  # fmt: skip
    for name, (help_text, _) in commands.items():
        assert len(help_text) > 20, f"poverty {name} has no help"
    kafka = subcommands(commands["kafka"][1])
    assert set(kafka) == {"start", "fetch"}
    assert all(help_text for help_text, _ in kafka.values())
    assert set(subcommands(commands["quarantine"][1])) == {"list", "show", "replay", "dismiss"}


def test_no_other_module_of_shared_is_a_program() -> None:
    """Operators learn one command: a tool under shared/ is a `poverty` subcommand, not `python -m`."""
    programs = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "shared").rglob("*.py"))
        if path.name == "__main__.py" or re.search(r"^if __name__ == .__main__.:", path.read_text(), re.MULTILINE)
    ]
    assert programs == ["shared/cli.py"]  # itself, for `python -m shared.cli` (the local platform's processes)


def test_kafka_fetch_only_fetches_the_jars(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(local_kafka, "ensure_jars", lambda: Path("/cache/libs"))
    assert main(["kafka", "fetch"]) == 0
    assert capsys.readouterr().out.strip() == "/cache/libs"


def test_kafka_start_runs_a_broker_on_the_ports_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ran: list[tuple[Any, float]] = []
    monkeypatch.setattr(local_kafka, "run_in_foreground", lambda broker, timeout: ran.append((broker, timeout)) or 0)
    assert main(["kafka", "start", "--port", "19092", "--data-dir", str(tmp_path), "--timeout", "30"]) == 0
    [(broker, timeout)] = ran
    assert (broker.port, broker.controller_port, broker.data_dir, timeout) == (19092, 19093, tmp_path, 30)
    ran.clear()
    assert main(["kafka", "start"]) == 0
    assert (ran[0][0].port, ran[0][0].data_dir) == (9092, local_kafka.DEFAULT_DATA_DIR)


def test_demo_data_goes_to_the_households_service_given(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[tuple[dict[str, str], str | None]] = []

    def load(urls: dict[str, str], *, subsidies_database_url: str | None) -> demo.Loaded:
        asked.append((urls, subsidies_database_url))
        return demo.Loaded(households=["h-1", "h-2"], cycles=["  低保 2020-06: closed"])

    monkeypatch.setattr(demo, "load", load)
    assert main(["demo-data", "--households", "http://households:8001"]) == 0
    assert main(["demo-data"]) == 0
    assert asked == [({"households": "http://households:8001"}, None), ({"households": "http://127.0.0.1:8001"}, None)]
    out = capsys.readouterr().out
    assert "demo data: 2 households registered" in out and "低保 2020-06: closed" in out


def test_demo_data_pays_the_month_on_the_subsidies_database_the_service_reads(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[tuple[dict[str, str], str | None]] = []
    monkeypatch.setattr(
        demo, "load", lambda urls, **kw: asked.append((urls, kw["subsidies_database_url"])) or demo.Loaded()
    )
    monkeypatch.setenv("SUBSIDIES_DATABASE_URL", "postgresql+asyncpg://subsidies@postgres/subsidies")
    assert main(["demo-data", "--subsidies", "http://subsidies:8003"]) == 0
    urls = {"households": "http://127.0.0.1:8001", "subsidies": "http://subsidies:8003"}
    assert asked == [(urls, "postgresql+asyncpg://subsidies@postgres/subsidies")]


def test_asyncapi_prints_the_events_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asyncapi"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["asyncapi"] == "3.0.0"
    assert "households.events" in document["channels"]


def test_openapi_prints_a_services_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi", "audit"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["openapi"].startswith("3.") and document["paths"]


def fake_tool(calls: list[Any]) -> ModuleType:
    tool = ModuleType("fake_households_tool")
    tool.main = lambda argv: calls.append(("main", argv)) or 1  # type: ignore[attr-defined]
    tool.tune_gc = lambda: calls.append(("tune_gc",))  # type: ignore[attr-defined]
    return tool


@pytest.mark.parametrize(("command", "modules"), [("import", "HOUSEHOLD_IMPORT_MODULES"), ("rekey", "REKEY_MODULES")])
def test_the_household_tools_get_their_arguments_as_given(
    command: str, modules: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    monkeypatch.setitem(sys.modules, "fake_households_tool", fake_tool(calls))
    monkeypatch.setattr(cli, modules, ("tests.no_such_package.tool", "fake_households_tool"))
    argv = ["--database-url", "postgresql+asyncpg://h/households", "households.csv", "--help"]
    assert main([command, *argv]) == 1  # the tool's own exit status
    assert calls[-1] == ("main", argv)
    assert (("tune_gc",) in calls) == (command == "import")


def test_a_household_tool_that_cannot_load_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A module that is there but fails to import is reported, not passed over for an older one."""
    (tmp_path / "half_moved_tool.py").write_text("import no_such_dependency_of_the_tool\n\ndef main(argv): return 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "REKEY_MODULES", ("half_moved_tool", "fake_households_tool"))
    monkeypatch.setitem(sys.modules, "fake_households_tool", fake_tool([]))
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_of_the_tool"):
        main(["rekey"])
    monkeypatch.setattr(cli, "REKEY_MODULES", ("tests.no_such_package.tool", "json"))  # json has no main
    with pytest.raises(RuntimeError, match="has a main"):
        main(["rekey"])


@pytest.mark.parametrize(("command", "option"), [("import", "--database-url"), ("rekey", "--rehash")])
def test_the_household_tools_explain_themselves(command: str, option: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert option in capsys.readouterr().out


def test_replay_dlq_refuses_an_offset_range_without_its_partition(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay-dlq", "households.events.dlq", "--from-offset", "3"]) == USAGE_ERROR
    assert "--partition" in capsys.readouterr().err
