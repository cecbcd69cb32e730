"""The one error model: typed domain errors that know their problem type and HTTP status.

Domain code raises these; `shared.error_documents` turns them into RFC 9457 problem+json. The `detail`
must never contain personal data (ID-card numbers, names): it is sent to the caller verbatim.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A rule was broken; the request changes nothing."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class InvalidInput(DomainError):
    status = 422
    slug = "invalid-input"
    title = "Invalid input"


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class RuleViolation(DomainError):
    """A state transition the domain forbids (e.g. closing a task without evidence)."""

    status = 409
    slug = "rule-violation"
    title = "Rule violation"


class Unauthenticated(DomainError):
    status = 401
    slug = "unauthenticated"
    title = "Unauthenticated"


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"
