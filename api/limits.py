"""Request body size, enforced while the body streams in: a 413 without buffering it.

A declared `Content-Length` over the limit is refused before a byte is read; a chunked (or
lying) body is counted as it arrives and refused as soon as it passes the limit, so memory
use is bounded by the limit, never by what a client sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """The request body passed its limit (status 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit

    def problems(self) -> list[dict[str, str]]:
        """The one problem: the body, and how much it may be."""
        return [{"field": "(body)", "message": f"send at most {self.limit} bytes"}]


def _declared_length(scope: Scope) -> int | None:
    """The Content-Length header as a number, or None when absent or unreadable."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimit:
    """Pure ASGI middleware: refuse bodies over `default` bytes (or a path's own limit)."""

    def __init__(self, app: ASGIApp, *, default: int, by_path: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        self.by_path = dict(by_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.by_path.get(scope["path"], self.default)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await refuse(send, BodyTooLarge(limit))
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge as exc:  # raised outside a route (the routes' handler answers 413)
            if started:
                raise
            await refuse(send, exc)


async def refuse(send: Send, exc: BodyTooLarge) -> None:
    """Send the 413 in the API's error shape and close the exchange."""
    body = json.dumps({"error": {"message": exc.detail, "problems": exc.problems()}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
