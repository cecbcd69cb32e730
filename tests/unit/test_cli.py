"""The command line refuses a bad configuration with where and what, never with the configuration's values."""

from __future__ import annotations

import pytest

from shared.cli import CONFIGURATION_ERROR, main


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


def test_a_development_token_lives_no_longer_than_services_accept(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "district_office", "--ttl", str(13 * 3600)]) == CONFIGURATION_ERROR
    assert "--ttl must be 1-43200 seconds" in capsys.readouterr().err
    assert main(["token", "--role", "district_office", "--ttl", "600"]) == 0
    assert capsys.readouterr().out.count(".") == 2  # one JWT: header.claims.signature
