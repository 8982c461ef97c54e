"""Limits on what a request may send, checked before the application sees it:

* the body's size (413, at once for a declared ``Content-Length`` over the limit, else as
  soon as a streamed body crosses it) and the time it takes to arrive (408: a body still
  arriving ``timeout`` seconds after the application started reading it; a client sending
  a byte a second would otherwise hold the request for ever);
* characters PostgreSQL cannot store (NUL) in the path or a query parameter (422 naming
  the parameter: no route's filter or lookup has to handle a string PostgreSQL would
  refuse with a driver error); request bodies are checked field by field by
  :data:`kit.fields.Text`.

kit.edge applies them to every request and renders their refusal with ``refuse``
(problem+json by default; the gateway passes its own, which answers SCIM clients with
SCIM's error body).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import Message, Receive, Scope

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


def declared_length_refusal(content_length: bytes, max_bytes: int) -> DomainError | None:
    """Why a request declaring this ``Content-Length`` is refused at once, if it is."""
    if not content_length.isdigit():
        return BadRequest("Content-Length must be a number of bytes.")
    if int(content_length) > max_bytes:
        return _too_large(max_bytes)
    return None


def limited(receive: Receive, max_bytes: int, timeout: float | None) -> Receive:
    """``receive`` that raises once the body crosses ``max_bytes``, or is still arriving
    ``timeout`` seconds after it was first read."""
    received = 0
    deadline: float | None = None

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
            if received > max_bytes:
                raise _too_large(max_bytes)
        return message

    return limited_receive


def unstorable_refusal(scope: Scope) -> ValidationFailed | None:
    """The 422 for a NUL in the path or a query parameter, naming it; None without one."""
    name = _unstorable_parameter(scope)
    if name is None:
        return None
    return ValidationFailed(
        f"{name}: {UNSTORABLE_MESSAGE}.",
        extensions={"errors": [{"detail": UNSTORABLE_MESSAGE, "parameter": name}]},
    )


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
