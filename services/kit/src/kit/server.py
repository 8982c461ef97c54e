"""The HTTP server's own limits, against clients that hold connections without sending a
request (slowloris) or open more connections than a process can serve.

uvicorn has a keep-alive timeout for idle connections, but none for a client that sends a
request's headers one byte at a time: each such client holds a connection (and its memory)
for as long as it likes. :class:`GuardedHttpToolsProtocol` is uvicorn's httptools protocol
with two additions, both set from :class:`kit.settings.AppSettings`:

* the headers of each request must arrive within ``header_timeout_seconds`` of the first
  byte of the connection (or of the end of the previous response): past that the
  connection gets a 408 and is closed;
* beyond ``max_connections`` open connections per process, a new connection gets a 503
  problem (``Retry-After: 1``) and is closed at once, before anything is read from it.

The request body's own timeout is in :func:`kit.limits.limited`, where
the application reads it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from kit.errors import PROBLEM_MEDIA_TYPE, problem_type


def canned_problem(status: int, reason: str, slug: str, title: str, detail: str) -> bytes:
    """A complete HTTP/1.1 problem+json response that closes the connection, written
    straight to the socket: no request (and no app) exists yet to answer it."""
    body = json.dumps(
        {"type": problem_type(slug), "title": title, "status": status, "detail": detail}
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"content-type: {PROBLEM_MEDIA_TYPE}\r\n"
        f"content-length: {len(body)}\r\n"
        "retry-after: 1\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


HEADERS_TOO_SLOW = canned_problem(
    408,
    "Request Timeout",
    "request-timeout",
    "Request timeout",
    "The request headers did not arrive in time; the connection is closed.",
)
TOO_MANY_CONNECTIONS = canned_problem(
    503,
    "Service Unavailable",
    "service-unavailable",
    "Service unavailable",
    "This server has as many connections open as it serves; retry in a moment.",
)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header timeout and a connection cap. Configure
    a subclass with :func:`guarded_protocol`."""

    header_timeout_seconds: ClassVar[float] = 10.0
    max_connections: ClassVar[int] = 1000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self.transport.write(TOO_MANY_CONNECTIONS)
            self.transport.close()
            return
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)
        super().on_response_complete()
        # The next request on this keep-alive connection gets the same time for its
        # headers (a pipelined one has sent them already).
        if not pipelined and not self.transport.is_closing():
            self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(
            self.header_timeout_seconds, self._headers_too_slow
        )

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.write(HEADERS_TOO_SLOW)
            self.transport.close()


def guarded_protocol(
    *, header_timeout_seconds: float, max_connections: int
) -> type[GuardedHttpToolsProtocol]:
    """The protocol class uvicorn runs (``http=``), with this app's limits."""
    return type(
        "ConfiguredGuardedHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {"header_timeout_seconds": header_timeout_seconds, "max_connections": max_connections},
    )
