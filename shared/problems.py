"""RFC 9457 problem+json for every 4xx and 5xx, without echoing input or exception text."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import DomainError

PROBLEM_BASE = "https://poverty.gov.example/problems/"
MEDIA_TYPE = "application/problem+json"
log = logging.getLogger(__name__)

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


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """Build one problem+json response (`headers`: those the status needs, such as a 405's `Allow`)."""
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extensions)
    headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    # Only location, message and error type: pydantic's `input` and `ctx` may hold personal data.
    return [
        {
            "field": ".".join(str(p) for p in err.get("loc", ())),
            "message": err.get("msg", ""),
            "code": err.get("type", ""),
        }
        for err in exc.errors()
    ]


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = _field_errors(exc)
    if any(e["code"] == "json_invalid" for e in errors):
        return problem(400, "malformed-json", "Malformed JSON", "The request body is not valid JSON.", request.url.path)
    return problem(
        422,
        "invalid-input",
        "Invalid input",
        "The request has invalid or missing fields.",
        request.url.path,
        errors=errors,
    )


async def _on_domain(request: Request, exc: DomainError) -> JSONResponse:
    return problem(exc.status, exc.slug, exc.title, exc.detail, request.url.path, **exc.extensions)


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    slug = _HTTP_SLUGS.get(exc.status_code, "http-error")
    title = slug.replace("-", " ").capitalize()
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem(exc.status_code, slug, title, detail, request.url.path, headers=exc.headers)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem(500, "internal-error", "Internal error", "An unexpected error occurred.", request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that make every error a problem+json document."""
    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(DomainError, _on_domain)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_unexpected)
