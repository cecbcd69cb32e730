"""Every service's OpenAPI document follows one convention, so an integrator can generate a client from it.

- Operation ids are `<tag>-<function name>` (not FastAPI's path-derived default) and every path but health's is
  under the version prefix `/v1`.
- An operation's summary is the first line of its route's docstring, its description the rest, followed by who
  may call it (the roles of its `require_roles` dependency) and the area rule for area-scoped roles.
- Errors are documented as they are sent: RFC 9457 problem+json (`ErrorDocument`, see `shared.error_documents`),
  with 401/403 on every operation behind a token, 404 on every path with a parameter, 409 on every write,
  413 on every body and 422 on every operation that takes input.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field

from shared.auth import AREA_SCOPED, Role, RoleRequirement
from shared.error_documents import MEDIA_TYPE

API_PREFIX = "/v1"
_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")
_WRITES = frozenset({"post", "put", "patch", "delete"})
AREA_RULE_KEY = "x-area-rule"
_AREA_RULE = (
    "**Area rule:** {roles} act only within the area of their token (`area` claim: a township's or a village's "
    "code, reaching every code it prefixes): a record outside it is refused with 403, and lists hold only what "
    "lies inside it."
)


class FieldError(BaseModel):
    """One invalid or missing field of a 422."""

    field: str = Field(description="where the field is, dotted: `body.members.0.birth_date`, `query.limit`")
    message: str
    code: str = Field(description="the kind of error, e.g. `missing`, `date_from_datetime_parsing`")


class ErrorDocument(BaseModel):
    """An RFC 9457 problem-details document (`application/problem+json`); a domain error may add members."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a URI naming the kind of error, e.g. .../problems/rule-violation")
    title: str
    status: int
    detail: str = Field(description="what is wrong, in words; never contains personal data")
    instance: str | None = Field(default=None, description="the request's path")
    errors: list[FieldError] | None = Field(default=None, description="422 only: each invalid field")


def operation_id(route: APIRoute) -> str:
    """`<tag>-<function name>`: stable, readable names for generated clients (`households-register_household`,
    `helper_cadres-register_cadre`: a tag of several words is joined by underscores, `-` separates the two)."""
    return f"{str(route.tags[0]).replace(' ', '_')}-{route.name}" if route.tags else route.name


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ErrorDocument"}}},
    }


def _declared_errors(path: str, method: str, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    errors: dict[str, dict[str, Any]] = {}
    if "security" in operation:
        errors["401"] = _error("No bearer token, or one that is expired, forged or for another audience")
        errors["403"] = _error("The token's roles may not call this operation, or the record is outside its area")
    if "{" in path or "requestBody" in operation:  # a body names records too (a campaign, a household)
        errors["404"] = _error("No such record (or one this caller may not know of)")
    if method in _WRITES:
        errors["409"] = _error(
            "The change conflicts with the record's state (a duplicate, a closed record, a "
            "reused Idempotency-Key); nothing changed"
        )
    if "requestBody" in operation:
        errors["413"] = _error("The request body is larger than the service accepts")
    if operation.get("parameters") or "requestBody" in operation:
        errors["422"] = _error("Invalid input: `errors` names each invalid field; nothing changed")
    if "security" in operation:  # every operation behind a token uses the database
        errors["503"] = _error("The database is unreachable; retry after `Retry-After` seconds")
    return errors


def _requirements(dependant: Dependant) -> Iterator[RoleRequirement]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, RoleRequirement):
            yield dependency.call
        yield from _requirements(dependency)


def _roles_text(roles: frozenset[Role]) -> str:
    return ", ".join(f"`{role}`" for role in sorted(roles))


def _description(route: APIRoute) -> str:
    """The docstring after its first line, then who may call the operation and the area rule."""
    lines = inspect.cleandoc(route.endpoint.__doc__ or "").split("\n", 1)
    parts = [lines[1].strip()] if len(lines) > 1 and lines[1].strip() else []
    roles = frozenset().union(*(r.roles for r in _requirements(route.dependant)))
    if roles:
        parts.append(f"**Who may call:** {_roles_text(roles)}.")
        scoped = roles & AREA_SCOPED
        rule = (route.openapi_extra or {}).get(AREA_RULE_KEY)
        if rule or scoped:
            parts.append(rule or _AREA_RULE.format(roles=_roles_text(frozenset(scoped))))
    return "\n\n".join(parts)


def _summary(route: APIRoute) -> str | None:
    first = inspect.cleandoc(route.endpoint.__doc__ or "").split("\n", 1)[0].strip()
    return route.summary or first.rstrip(".") or None


def document_operations(app: FastAPI, document: dict[str, Any]) -> None:
    """Rewrite a generated document in place: summaries, descriptions with roles, error responses."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERROR_SCHEMAS:
        schemas.pop(name, None)
    error = ErrorDocument.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error.pop("$defs", {}))  # FieldError
    schemas["ErrorDocument"] = error
    for schema in schemas.values():
        _in_a_stable_order(schema)
    for path, route in _documented_routes(app):
        for method in route.methods or ():
            operation = document["paths"][path][method.lower()]
            summary = _summary(route)
            if summary:
                operation["summary"] = summary
            description = _description(route)
            if description:
                operation["description"] = description
            operation.pop(AREA_RULE_KEY, None)
            responses = operation.setdefault("responses", {})
            responses.pop("4XX", None)
            responses.update(_declared_errors(path, method.lower(), operation))


def _in_a_stable_order(schema: dict[str, Any]) -> None:
    # FastAPI's document model holds `dependentRequired`'s lists as sets: in the order of the process's string hashes,
    # which would change the published document from one run of the same release to the next.
    for name, needed in schema.get("dependentRequired", {}).items():
        schema["dependentRequired"][name] = sorted(needed)


def _documented_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """Each documented route with its full path (FastAPI keeps included routers' prefixes apart from routes)."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema and context.path_format:
            yield context.path_format, route


def install_api_documentation(app: FastAPI) -> None:
    """Make `app.openapi()` return the rewritten document (generated once, then cached as FastAPI does)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_operations(app, generate())  # FastAPI caches the document it generates in app.openapi_schema
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
