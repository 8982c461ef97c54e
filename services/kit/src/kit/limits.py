"""Limits on what a request may send, checked before the application sees it:

* the body's size (413) and the time it takes to arrive (408), in
  :class:`BodySizeLimitMiddleware`;
* characters PostgreSQL cannot store (NUL) in the path or a query parameter (422 naming
  the parameter), in :class:`UnstorableInputMiddleware`; request bodies are checked field
  by field by :data:`kit.fields.Text`.

Both render their refusal with ``refuse`` (problem+json by default; the gateway passes its
own, which answers SCIM clients with SCIM's error body).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.errors import (
    BadRequest,
    DomainError,
    PayloadTooLarge,
    RequestTimeout,
    ValidationFailed,
    domain_error_response,
)
from kit.fields import UNSTORABLE_MESSAGE, has_unstorable

Refuse = Callable[[DomainError, Scope], Response]


def problem_refusal(error: DomainError, scope: Scope) -> Response:
    return domain_error_response(error, instance=scope["path"])


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes.")


class BodySizeLimitMiddleware:
    """Refuses a declared ``Content-Length`` over the limit at once, and stops a streamed
    (chunked) body as soon as it crosses the limit. A body still arriving
    ``timeout_seconds`` after the application started reading it is refused with a 408:
    a client sending a byte a second would otherwise hold the request for ever."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        timeout_seconds: float | None = None,
        refuse: Refuse = problem_refusal,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_bytes:
                    error: DomainError = (
                        _too_large(self.max_bytes)
                        if value.isdigit()
                        else BadRequest("Content-Length must be a number of bytes.")
                    )
                    await self.refuse(error, scope)(scope, receive, send)
                    return
                break
        received = 0
        deadline: float | None = None
        timeout = self.timeout_seconds

        async def limited_receive() -> Message:
            nonlocal received, deadline
            if timeout is None:
                message = await receive()
            else:
                if deadline is None:
                    deadline = time.monotonic() + timeout
                try:
                    async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                        message = await receive()
                except TimeoutError:
                    # Raised into whoever reads the body; the error handlers render it.
                    raise RequestTimeout(
                        f"The request body did not arrive within {timeout:g} seconds."
                    ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _too_large(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)


class UnstorableInputMiddleware:
    """A NUL in the path or in a query parameter is a 422 naming it: no route's filter or
    lookup has to handle a string PostgreSQL would refuse with a driver error."""

    def __init__(self, app: ASGIApp, *, refuse: Refuse = problem_refusal) -> None:
        self.app = app
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            name = _unstorable_parameter(scope)
            if name is not None:
                error = ValidationFailed(
                    f"{name}: {UNSTORABLE_MESSAGE}.",
                    extensions={"errors": [{"detail": UNSTORABLE_MESSAGE, "parameter": name}]},
                )
                await self.refuse(error, scope)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _unstorable_parameter(scope: Scope) -> str | None:
    if "\x00" in scope.get("path", ""):
        return "path"
    query: bytes = scope.get("query_string", b"")
    if b"%00" not in query and b"\x00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if has_unstorable(name) or has_unstorable(value):
            return name.replace("\x00", "") or "query"
    return None
