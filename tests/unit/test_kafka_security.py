"""Kafka client security from settings: TLS (verified), SASL, and incomplete settings refused at start-up."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from shared.messaging.kafka import PLAINTEXT
from shared.settings import ServiceSettings


def settings(**values: Any) -> ServiceSettings:
    return ServiceSettings(database_url="sqlite://", **values)


def self_signed_ca(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "poverty test CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_plaintext_is_the_default_and_adds_nothing_but_the_protocol() -> None:
    assert settings().kafka_security() == PLAINTEXT
    assert PLAINTEXT.client_options() == {"security_protocol": "PLAINTEXT"}


def test_sasl_over_tls_verifies_the_brokers_against_the_given_ca(tmp_path: Path) -> None:
    configured = settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="households",
        kafka_sasl_password="s3cret-from-a-secret",
        kafka_ssl_cafile=str(self_signed_ca(tmp_path / "ca.pem")),
    )
    options = configured.kafka_security().client_options()
    context = options.pop("ssl_context")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "poverty test CA"),),)]
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "households",
        "sasl_plain_password": "s3cret-from-a-secret",
    }


def test_the_password_never_shows_in_a_repr() -> None:
    configured = settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="audit",
        kafka_sasl_password="do-not-log-me",
    )
    assert "do-not-log-me" not in repr(configured) and "do-not-log-me" not in repr(configured.kafka_security())


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "PLAIN"}, "needs kafka_sasl_mechanism"),
        ({"kafka_sasl_username": "u", "kafka_sasl_password": "p"}, "need a SASL_PLAINTEXT or SASL_SSL"),
        ({"kafka_ssl_cafile": "/etc/hostname"}, "need an SSL or SASL_SSL"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_keyfile": "/etc/hostname"}, "needs kafka_ssl_certfile"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_cafile": "/no/such/ca.pem"}, "file not found"),
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "GSSAPI"}, "kafka_sasl_mechanism"),
    ],
)
def test_incomplete_or_inconsistent_security_stops_start_up(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        settings(**values)
