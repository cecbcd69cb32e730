"""Refusing a date a use case cannot accept: a 422 naming the body's field, as the body's own validation would."""

from __future__ import annotations

from shared.errors import InvalidInput


def refused(field: str, message: str, code: str) -> InvalidInput:
    """The error for one field of the body (`field` without the `body.` prefix)."""
    return InvalidInput(
        "The request has invalid or missing fields.",
        errors=[{"field": f"body.{field}", "message": message, "code": code}],
    )
