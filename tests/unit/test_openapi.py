"""The OpenAPI documents describe what the services really send: problem+json errors, a bearer token."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from shared.openapi import ErrorDocument
from tests.support import assert_problem, auth, running_app, service_app, service_settings

SERVICES = ("households", "projects", "subsidies", "audit")
PUBLIC = {"/livez", "/readyz"}


def document(service: str) -> dict[str, Any]:
    return service_app(service, service_settings(service)).openapi()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_documents_its_client_errors_as_problems(service: str) -> None:
    doc = document(service)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ErrorDocument"}}}
    for path, method, op in operations(doc):
        for status in ("401", "403", "404", "409", "413", "422"):
            if status in op["responses"]:
                assert op["responses"][status]["content"] == problem, f"{method} {path} {status}"
        if "422" in op["responses"]:
            assert op["responses"]["422"]["content"] == problem, f"{method} {path}"
        if path not in PUBLIC:
            assert op["responses"]["503"]["content"] == problem, f"{method} {path}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_but_health_requires_the_bearer_token(service: str) -> None:
    doc = document(service)
    assert doc["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A JWT from the district's identity provider",
    }
    for path, method, op in operations(doc):
        expected = None if path in PUBLIC else [{"HTTPBearer": []}]
        assert op.get("security") == expected, f"{method} {path}"


async def test_a_real_422_matches_the_documented_problem(sqlite_url: Callable[[str], Awaitable[str]]) -> None:
    async with running_app("households", await sqlite_url("households")) as (_, client):
        response = await client.post("/v1/households", json={"household_code": ""}, headers=auth("district_office"))
    body = assert_problem(response, 422)
    problem = ErrorDocument.model_validate(body)
    assert problem.errors and {e.field for e in problem.errors} >= {"body.area_code", "body.head_name"}


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer    ", "Basic dXNlcjpwdw==", "Bearer not-a-jwt"])
async def test_a_missing_or_unusable_token_is_a_401_problem(
    sqlite_url: Callable[[str], Awaitable[str]], header: str
) -> None:
    async with running_app("households", await sqlite_url("households")) as (_, client):
        response = await client.get("/v1/households", headers={"Authorization": header} if header else {})
    assert assert_problem(response, 401)["title"] == "Unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_release_publishes_the_same_document_whatever_the_process_hashes_strings_with() -> None:
    # Households' member body states which facts come together (`dependentRequired`); under these two seeds FastAPI
    # listed them in two orders.
    documents = [
        subprocess.run(
            [sys.executable, "-m", "shared.cli", "openapi", "households"],
            capture_output=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("0", "1")
    ]
    assert b"dependentRequired" in documents[0]
    assert documents[0] == documents[1]
