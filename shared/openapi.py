"""The OpenAPI document says what errors really look like: RFC 9457 problem+json (`shared.problems`).

FastAPI documents a 422 as `application/json` with its own `HTTPValidationError` shape, which no route of ours
sends. Clients generated from the document (other government systems, department integrations) would then
fail to parse every error; here each operation documents its client errors as `application/problem+json`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from shared.problems import HTTP_METHODS, MEDIA_TYPE

_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")


class FieldError(BaseModel):
    """One invalid or missing field of a 422."""

    field: str = Field(description="where the field is, dotted: `body.members.0.birth_date`, `query.limit`")
    message: str
    code: str = Field(description="the kind of error, e.g. `missing`, `date_from_datetime_parsing`")


class Problem(BaseModel):
    """An RFC 9457 problem document; a domain error may add extension members."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a URI naming the kind of problem, e.g. .../problems/rule-violation")
    title: str
    status: int
    detail: str = Field(description="what is wrong, in words; never contains personal data")
    instance: str | None = Field(default=None, description="the request's path")
    errors: list[FieldError] | None = Field(default=None, description="422 only: each invalid field")


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def document_problems(document: dict[str, Any]) -> None:
    """Rewrite an OpenAPI document in place: every operation's 4xx (and a database outage's 503) are problem+json."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERROR_SCHEMAS:
        schemas.pop(name, None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))  # FieldError
    schemas["Problem"] = problem
    for path in document.get("paths", {}).values():
        for method, operation in path.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _problem_response("Invalid input: `errors` names each invalid field")
            responses["4XX"] = _problem_response("The request was refused; nothing changed")
            if "security" in operation:  # every operation behind a token uses the database
                responses["503"] = _problem_response("The database is unreachable; retry after `Retry-After` seconds")


def install_problem_documentation(app: FastAPI) -> None:
    """Make `app.openapi()` return the rewritten document (generated once, then cached as FastAPI does)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_problems(generate())  # FastAPI caches the document it generates in app.openapi_schema
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


if __name__ == "__main__":
    # The document of one service, as published with a release (production serves none): python -m shared.openapi audit
    import json
    import sys

    from shared.registry import create_app, settings_class

    service = sys.argv[1]
    document = create_app(service, settings_class(service)(kafka_enabled=False)).openapi()
    print(json.dumps(document, ensure_ascii=False, indent=2))
