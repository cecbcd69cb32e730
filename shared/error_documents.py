"""RFC 9457 problem+json for every 4xx and 5xx, without echoing input or exception text."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import DomainError
from shared.failures import DRIVER_ERRORS, INFRASTRUCTURE, is_transient
from shared.personal_data import contains_account_number, contains_id_number

ERROR_TYPE_BASE = "https://poverty.gov.example/problems/"
RETRY_AFTER_S = 5
MEDIA_TYPE = "application/problem+json"
log = logging.getLogger(__name__)

# The operations an OpenAPI path item may hold (its other keys are parameters, summary, ...).
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
_HTTP_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "too-many-requests",
}
# What an error location may repeat: field names and list indexes, not a key the client made up (perhaps a number).
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")  # a header is named like Idempotency-Key
_UNKNOWN_FIELD = "(unknown field)"
_REDACTED = "(redacted)"


def screened_path(path: str) -> str:
    """The request's path with any segment that holds an ID-card or account number replaced (the whole path when the
    number spans segments): a client that put a citizen's number where an id belongs must not see it echoed, nor
    have it logged."""
    screened = "/".join(_REDACTED if _personal(part) else part for part in path.split("/"))
    return _REDACTED if _personal(screened) else screened


def _personal(text: str) -> bool:
    plain = unquote(text)
    return contains_id_number(plain) or contains_account_number(plain)


def error_document(
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """Build one problem+json response (`headers`: those the status needs, such as a 405's `Allow`)."""
    body: dict[str, Any] = {"type": ERROR_TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = screened_path(instance)
    body.update(extensions)
    headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def field_path(loc: Sequence[int | str]) -> str:
    """Pydantic's error location as `body.members.0.name`. A part that is neither a list index nor an identifier
    is a key the client made up (an unknown field), which may be an ID-card number: it is never repeated."""
    return ".".join(
        str(part) if isinstance(part, int) or _IDENTIFIER.fullmatch(part) else _UNKNOWN_FIELD for part in loc
    )


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    # Only location, message and error type: pydantic's `input` and `ctx` may hold personal data.
    return [
        {
            "field": field_path(err.get("loc", ())),
            "message": err.get("msg", ""),
            "code": err.get("type", ""),
        }
        for err in exc.errors()
    ]


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = _field_errors(exc)
    if any(e["code"] == "json_invalid" for e in errors):
        return error_document(
            400, "malformed-json", "Malformed JSON", "The request body is not valid JSON.", request.url.path
        )
    return error_document(
        422,
        "invalid-input",
        "Invalid input",
        "The request has invalid or missing fields.",
        request.url.path,
        errors=errors,
    )


async def _on_domain(request: Request, exc: DomainError) -> JSONResponse:
    return error_document(exc.status, exc.slug, exc.title, exc.detail, request.url.path, **exc.extensions)


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    slug = _HTTP_SLUGS.get(exc.status_code, "http-error")
    title = slug.replace("-", " ").capitalize()
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = exc.headers
    if exc.status_code == 405:
        # Starlette names only the methods of the first route on the path; RFC 9110 wants all of them.
        allowed = _documented_methods(request.app.openapi(), request.url.path)
        headers = {**(headers or {}), **({"Allow": ", ".join(allowed)} if allowed else {})}
    return error_document(exc.status_code, slug, title, detail, request.url.path, headers=headers)


def _documented_methods(document: dict[str, Any], path: str) -> list[str]:
    """Every method the OpenAPI document serves on `path` (HEAD wherever GET is, as Starlette answers it)."""
    methods = {
        method.upper()
        for template, item in document.get("paths", {}).items()
        if _template(template).fullmatch(path)
        for method in item
        if method in HTTP_METHODS
    }
    return sorted(methods | ({"HEAD"} if "GET" in methods else set()))


@functools.cache
def _template(path_template: str) -> re.Pattern[str]:
    """`/households/{household_id}/visits` as a pattern: a parameter is one path segment."""
    literal_parts = re.split(r"\{[^}/]+\}", path_template)
    return re.compile("[^/]+".join(map(re.escape, literal_parts)))


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    # The database (or the network to it) is down, saturated or aborted a deadlock: the caller should retry.
    if not is_transient(exc):
        return await _on_unexpected(request, exc)
    log.warning(
        "a dependency is unavailable", extra={"path": screened_path(request.url.path), "error_type": type(exc).__name__}
    )
    return error_document(
        503,
        "service-unavailable",
        "Service unavailable",
        "The service's database is unreachable or busy just now. Try again shortly.",
        request.url.path,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    log.exception("unhandled error", extra={"path": screened_path(request.url.path), "request_id": request_id})
    # A 500 is sent from outside the access log's middleware: name the request here, so that the caller can
    # quote it to the operators.
    headers = {"X-Request-ID": request_id} if request_id else None
    detail = "An unexpected error occurred." + (f" Quote request {request_id} to the operators." if request_id else "")
    return error_document(500, "internal-error", "Internal error", detail, request.url.path, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that make every error a problem+json document."""
    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(DomainError, _on_domain)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http)  # type: ignore[arg-type]
    failures: tuple[type[Exception], ...] = (sqlalchemy.exc.DBAPIError, *DRIVER_ERRORS, *INFRASTRUCTURE)
    for failure in failures:  # each handler call decides: transient (503) or a bug (500)
        app.add_exception_handler(failure, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)
