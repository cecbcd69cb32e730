"""Throwaway TLS material for the local broker: a CA and a server certificate for 127.0.0.1, made in Python."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TLS_VALIDITY = dt.timedelta(days=3650)  # the files outlive a run in a kept data_dir; only loopback trusts them
LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


def _cert_builder(subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
    """Start a certificate for key, valid from a minute ago (the JVM's clock may trail ours)."""
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + TLS_VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def throwaway_ca(name: str = "LocalKafka throwaway CA") -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """Make a self-signed CA certificate and its key, for local TLS only."""
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    usage = x509.KeyUsage(
        digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
    )  # fmt: skip
    cert = (
        _cert_builder(name, issuer, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def write_server_tls(cafile: Path, keystore: Path) -> None:
    """Write a new CA's certificate to cafile and a PEM keystore (key, then certificate, SAN IP:127.0.0.1) it signed."""
    ca, ca_key = throwaway_ca()
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _cert_builder("127.0.0.1", ca.subject, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(LOOPBACK)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    # Kafka's PEM keystore reads only unencrypted PKCS#8 keys when no key password is configured.
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    keystore.parent.mkdir(parents=True, exist_ok=True)
    keystore.write_bytes(pkcs8 + cert.public_bytes(serialization.Encoding.PEM))
    keystore.chmod(0o600)
    # The CA's key is dropped here: nothing but this server certificate is ever signed by it. The CA goes last,
    # as start() reads an existing cafile as a complete pair.
    cafile.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
