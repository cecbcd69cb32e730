"""Production authentication: RS256 tokens verified against a JWKS by their kid (both keys accepted during a rotation);
without a token nothing but health and metrics answers, the API documents included."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError

from shared.auth import Role, TokenVerifier
from shared.errors import Unauthenticated
from shared.settings import ServiceSettings

OLD, NEW, RETIRED = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3))


def jwks(**keys: Any) -> str:
    entries = []
    for kid, private in keys.items():
        entry = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
        entries.append({**entry, "kid": kid, "use": "sig", "alg": "RS256"})
    return json.dumps({"keys": entries})


def token(private: Any, kid: str | None) -> str:
    now = int(time.time())
    claims = {"sub": "system-1", "roles": ["district_office"], "aud": "poverty-platform", "iat": now, "exp": now + 60}
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid} if kid else None)


def verifier() -> TokenVerifier:
    settings = ServiceSettings(  # type: ignore[call-arg]
        environment="prod",
        database_url="postgresql+asyncpg://db/x",
        jwt_algorithm="RS256",
        jwt_jwks=jwks(**{"2026-06": OLD, "2026-12": NEW}),
    )
    return TokenVerifier(settings)


@pytest.mark.parametrize(("private", "kid"), [(OLD, "2026-06"), (NEW, "2026-12")])
def test_tokens_signed_with_either_published_key_are_accepted(private: Any, kid: str) -> None:
    assert verifier().verify(token(private, kid)).roles == frozenset({Role.DISTRICT_OFFICE})


@pytest.mark.parametrize(
    ("private", "kid", "message"),
    [
        (RETIRED, "2025-12", "does not know"),  # a retired key, no longer published
        (OLD, None, "does not know"),  # no kid: the key cannot be chosen
        (RETIRED, "2026-12", "invalid"),  # a published kid, but another key signed it
    ],
)
def test_tokens_of_unknown_or_mismatched_keys_are_refused(private: Any, kid: str | None, message: str) -> None:
    with pytest.raises(Unauthenticated, match=message):
        verifier().verify(token(private, kid))


def test_a_hs256_token_is_refused_where_rs256_is_configured() -> None:
    forged = jwt.encode(
        {"sub": "x", "aud": "poverty-platform", "exp": int(time.time()) + 60}, "s" * 40, headers={"kid": "2026-12"}
    )
    with pytest.raises(Unauthenticated):
        verifier().verify(forged)


@pytest.mark.parametrize("document", ["not json", '{"keys": []}', '{"keys": [{"kty": "RSA", "kid": "x"}]}'])
def test_a_jwks_setting_that_is_no_key_set_stops_start_up(document: str) -> None:
    with pytest.raises(ValidationError, match="JWKS"):
        ServiceSettings(database_url="sqlite://", jwt_algorithm="RS256", jwt_jwks=document)  # type: ignore[call-arg]


def test_a_token_naming_a_key_of_another_type_in_the_set_is_refused_not_an_error() -> None:
    signer = ec.generate_private_key(ec.SECP256R1())
    ec_entry = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(signer.public_key())), "kid": "ec-1", "use": "sig"}
    keys = json.loads(jwks(**{"2026-12": NEW}))
    settings = ServiceSettings(  # type: ignore[call-arg]
        environment="prod",
        database_url="postgresql+asyncpg://db/x",
        jwt_algorithm="RS256",
        jwt_jwks=json.dumps({"keys": [*keys["keys"], {**ec_entry, "alg": "ES256"}]}),
    )
    claims = {"sub": "x", "roles": ["district_office"], "aud": "poverty-platform", "exp": int(time.time()) + 60}
    signed = jwt.encode(claims, signer, algorithm="ES256", headers={"kid": "ec-1"})
    forged = jwt.utils.base64url_encode(json.dumps({"alg": "RS256", "kid": "ec-1"}).encode()).decode()
    with pytest.raises(Unauthenticated, match="does not know"):  # was a TypeError from PyJWT: a 500
        TokenVerifier(settings).verify(".".join([forged, *signed.split(".")[1:]]))


async def test_in_production_the_api_documents_are_not_served_without_a_token() -> None:
    from httpx import ASGITransport, AsyncClient

    from shared.service_index import create_app, settings_class

    settings = settings_class("projects")(
        environment="prod",
        database_url="postgresql+asyncpg://db/x",
        jwt_algorithm="RS256",
        jwt_jwks=jwks(**{"2026-12": NEW}),
        kafka_enabled=False,
    )
    app = create_app("projects", settings)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await client.get(path)).status_code == 404, path
    assert "/v1/projects" in app.openapi()["paths"]  # still generated: problem documents and Allow headers use it


def test_a_configured_issuer_is_required() -> None:
    settings = ServiceSettings(  # type: ignore[call-arg]
        environment="prod",
        database_url="postgresql+asyncpg://db/x",
        jwt_algorithm="RS256",
        jwt_jwks=jwks(**{"2026-12": NEW}),
        jwt_issuer="https://idp.example.invalid/realms/district",
    )
    now = int(time.time())
    claims = {"sub": "s", "roles": ["district_office"], "aud": "poverty-platform", "iat": now, "exp": now + 60}

    def signed(**extra: Any) -> str:
        return jwt.encode({**claims, **extra}, NEW, algorithm="RS256", headers={"kid": "2026-12"})

    assert TokenVerifier(settings).verify(signed(iss=settings.jwt_issuer)).subject == "s"
    for wrong in (signed(iss="https://other.example.invalid"), signed()):
        with pytest.raises(Unauthenticated):
            TokenVerifier(settings).verify(wrong)
