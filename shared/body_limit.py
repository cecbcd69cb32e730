"""A ceiling on request bodies, enforced while a body is received: before anything reads it whole or parses it, and
for bodies sent in chunks (no Content-Length) as much as for declared ones."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOO_LARGE = "The request body is larger than this service accepts; split the data."


class BodyLimit:
    """ASGI middleware: a body over `max_bytes` is refused with 413 (problem+json, by the app's handlers) as soon as
    its declared length or the bytes received so far pass the limit; the rest is never read."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        received = int(declared) if declared.isdigit() else 0

        async def counted() -> Message:
            nonlocal received
            if received > self.max_bytes:
                # An HTTPException: FastAPI passes it on from the body's parsing (anything else there becomes a 400).
                raise HTTPException(413, TOO_LARGE)
            message = await receive()
            if message["type"] == "http.request":
                received += 0 if declared.isdigit() else len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, TOO_LARGE)
            return message

        await self.app(scope, counted, send)
