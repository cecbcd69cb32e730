"""The local broker's rendered config and TLS files, checked without starting a JVM."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from shared.local.kafka import LocalKafka
from shared.local.tls import write_server_tls

USERS = {"platform": "pw"}


def rendered(tmp_path: Path, *, sasl_users: dict[str, str], tls: bool = False) -> dict[str, str]:
    broker = LocalKafka(
        tmp_path, port=9001, controller_port=9002, sasl_users=sasl_users, sasl_port=9003, tls=tls, tls_port=9004
    )
    return dict(line.split("=", 1) for line in broker.server_properties().splitlines() if line)


def test_tls_adds_a_sasl_ssl_listener_with_a_pem_keystore_in_the_data_dir(tmp_path: Path) -> None:
    props = rendered(tmp_path, sasl_users=USERS, tls=True)
    listeners = "PLAINTEXT://127.0.0.1:9001,SASL_PLAINTEXT://127.0.0.1:9003,SASL_SSL://127.0.0.1:9004"
    assert props["listeners"] == f"{listeners},CONTROLLER://127.0.0.1:9002"
    assert props["advertised.listeners"] == listeners
    assert props["listener.security.protocol.map"].endswith(",SASL_SSL:SASL_SSL")
    jaas = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_platform="pw";'
    assert props["listener.name.sasl_ssl.plain.sasl.jaas.config"] == jaas
    assert props["listener.name.sasl_plaintext.plain.sasl.jaas.config"] == jaas
    assert props["ssl.keystore.type"] == "PEM"
    assert props["ssl.keystore.location"] == str(tmp_path.resolve() / "tls" / "server.pem")


@pytest.mark.parametrize("users", [{}, USERS], ids=["plain", "sasl"])
def test_without_tls_nothing_about_tls_is_rendered(tmp_path: Path, users: dict[str, str]) -> None:
    props = rendered(tmp_path, sasl_users=users)
    assert "SASL_SSL" not in props["listeners"] + props["listener.security.protocol.map"]
    assert not [key for key in props if key.startswith("ssl.") or ".sasl_ssl." in key]


def test_tls_needs_users_to_serve() -> None:
    with pytest.raises(ValueError, match="sasl_users"):
        LocalKafka(Path("unused"), tls=True)


def test_the_server_certificate_is_for_loopback_and_signed_by_the_ca(tmp_path: Path) -> None:
    write_server_tls(tmp_path / "ca.pem", tmp_path / "server.pem")
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
    keystore = (tmp_path / "server.pem").read_bytes()
    cert = x509.load_pem_x509_certificate(keystore)
    key = serialization.load_pem_private_key(keystore, password=None)
    cert.verify_directly_issued_by(ca)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.IPv4Address("127.0.0.1")]
    assert key.public_key() == cert.public_key()
    assert keystore.startswith(b"-----BEGIN PRIVATE KEY-----")  # unencrypted PKCS#8, what Kafka reads
    assert (tmp_path / "server.pem").stat().st_mode & 0o077 == 0
