"""The client that carries proxied requests: HTTP/1.1 keep-alive connections to one
upstream, responses parsed by httptools (the parser uvicorn serves with).

aiohttp did this before. On the proxy benchmark it was half of the gateway's CPU per
request: swapping it for this client took the gateway from 0.56 to 0.32-0.35 ms at
concurrency 1 (``bench/proxy_overhead.py``). The relay needs little of a general client: no
redirects, cookies, decompression or proxies, just one request at a time on a pooled
connection, with the response streamed back.

Errors follow the :class:`gateway.proxy.Upstream` contract: before the response starts,
a refused or failed connect is ``UpstreamUnreachable``, a connect or read that takes too
long is ``UpstreamTimedOut``, and a connection that breaks is ``UpstreamFailed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from starlette.types import Send

from gateway.proxy import (
    SAFE_METHODS,
    UpstreamFailed,
    UpstreamTimedOut,
    UpstreamUnreachable,
    response_headers,
)
from kit.http1 import Exchange, IdleConnections, UpstreamConnection


class HttpUpstream:
    """A pool of at most ``pool_size`` connections to one service."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        pool_size: int,
        idle_seconds: float = 4.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``idle_seconds``: how long an unused connection stays in the pool; keep it below
        the service's keep-alive timeout (uvicorn's is 5 s). ``tls`` replaces the default
        context for an https upstream (a private CA)."""
        self.name = name
        url = urlsplit(base_url.rstrip("/"))
        if url.scheme not in ("http", "https") or url.hostname is None:
            raise ValueError(f"the {name} upstream needs an http(s):// URL, not {base_url!r}")
        https = url.scheme == "https"
        self._host = url.hostname
        self._port = url.port or (443 if https else 80)
        # https: the service's certificate is checked against the system's trust store
        # (SSL_CERT_FILE adds a private CA), or against ``tls``.
        self._tls = (tls or ssl.create_default_context()) if https else None
        self._prefix = url.path
        self._host_header = url.netloc.encode("latin-1")
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._slots = asyncio.Semaphore(pool_size)
        self._idle = IdleConnections(idle_seconds)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._idle.close()

    async def relay(
        self,
        *,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: AsyncIterator[bytes] | None,
        send: Send,
        read_timeout: float | None = None,
    ) -> None:
        timeout = min(read_timeout or self._read_timeout, self._read_timeout)
        # _exchange's steps spelled out: its generator-based context manager costs a few
        # microseconds on every proxied request.
        async with self._slots:
            connection, exchange = await self._send_request(method, target, headers, body, timeout)
            try:
                await self._relay_response(connection, exchange, send, timeout)
            finally:
                self._release(connection, exchange)

    async def fetch_json(self, target: str, *, headers: dict[str, str], method: str = "GET") -> Any:
        if method != "GET":
            headers = {**headers, "content-length": "0"}
        encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        parts: list[bytes] = []
        async with self._exchange(method, target, encoded, None, self._read_timeout) as (
            connection,
            exchange,
        ):
            try:
                while chunk := await connection.next_chunk(self._read_timeout):
                    parts.append(chunk)
            except (TimeoutError, ConnectionError) as exc:
                raise UpstreamUnreachable(str(exc) or type(exc).__name__) from exc
        if not 200 <= exchange.status < 300:
            raise UpstreamUnreachable(f"{target} answered {exchange.status}")
        try:
            return json.loads(b"".join(parts))
        except ValueError as exc:
            raise UpstreamUnreachable(f"{target} is not JSON: {exc}") from exc

    @contextlib.asynccontextmanager
    async def _exchange(
        self,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: AsyncIterator[bytes] | None,
        read_timeout: float,
    ) -> AsyncIterator[tuple[UpstreamConnection, Exchange]]:
        """A pool slot for one request and its response; afterwards the connection goes
        back to the pool if the response was read to its end and the service keeps it."""
        async with self._slots:
            connection, exchange = await self._send_request(
                method, target, headers, body, read_timeout
            )
            try:
                yield connection, exchange
            finally:
                self._release(connection, exchange)

    def _release(self, connection: UpstreamConnection, exchange: Exchange) -> None:
        """Back to the pool if the response was read to its end and the service keeps the
        connection (``keep_alive`` is set only then); closed otherwise."""
        if exchange.keep_alive and connection.usable():
            self._idle.give_back(connection)
        else:
            connection.close()

    async def _send_request(
        self,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: AsyncIterator[bytes] | None,
        read_timeout: float,
    ) -> tuple[UpstreamConnection, Exchange]:
        """Sends the request and waits for the response's head. A pooled connection the
        service had just closed is replaced once, when nothing could have been acted on."""
        chunked = body is not None and not any(
            name.lower() == b"content-length" for name, _ in headers
        )
        opening = self._request_head(method, target, headers, chunked=chunked)
        if body is not None:
            # The head goes out with the body's first piece, in one write: a service's
            # small JSON body is all of it, so the service reads the request in one
            # segment and the gateway sends once, not twice. The piece is read before a
            # connection is taken, so a slow client holds none meanwhile.
            first = await anext(body, b"")
            if first:
                opening += b"%x\r\n%s\r\n" % (len(first), first) if chunked else first
        for _ in range(2):
            connection, reused = await self._connection()
            exchange = connection.begin(head=method == "HEAD")
            try:
                await connection.write(opening)
                if body is not None:
                    await self._write_body(connection, body, chunked=chunked)
                await exchange.head_within(read_timeout)
                return connection, exchange
            except TimeoutError as exc:
                connection.close()
                raise UpstreamTimedOut(f"no answer within {read_timeout} s") from exc
            except ConnectionError as exc:
                connection.close()
                # Nothing came back and nothing was sent but the head of a safe request:
                # the service closed an idle connection just as it was reused.
                if reused and method in SAFE_METHODS and body is None and not exchange.received_any:
                    continue
                raise UpstreamFailed(str(exc)) from exc
            except BaseException:
                connection.close()
                raise
        raise UpstreamFailed("the service closed two connections in a row")

    async def _connection(self) -> tuple[UpstreamConnection, bool]:
        # A connection idle for about as long as the service keeps one open may be closing
        # just as a request goes out on it: a POST there would be a 502, as it cannot be
        # retried. Ours are dropped before the service's keep-alive timeout.
        if (idle := self._idle.take()) is not None:
            return idle, True
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: UpstreamConnection(loop), self._host, self._port, ssl=self._tls
                )
        except TimeoutError as exc:
            raise UpstreamTimedOut(f"no connection within {self._connect_timeout} s") from exc
        except OSError as exc:
            raise UpstreamUnreachable(str(exc)) from exc
        return connection, False

    def _request_head(
        self, method: str, target: str, headers: list[tuple[bytes, bytes]], *, chunked: bool
    ) -> bytes:
        lines = [
            f"{method} {self._prefix}{target} HTTP/1.1\r\n".encode("latin-1"),
            b"host: " + self._host_header + b"\r\n",
        ]
        lines.extend(name + b": " + value + b"\r\n" for name, value in headers)
        if chunked:
            lines.append(b"transfer-encoding: chunked\r\n")
        lines.append(b"\r\n")
        return b"".join(lines)

    async def _write_body(
        self, connection: UpstreamConnection, body: AsyncIterator[bytes], *, chunked: bool
    ) -> None:
        """The rest of the body, after the piece that went with the head."""
        if not chunked:
            async for chunk in body:
                await connection.write(chunk)
            return
        async for chunk in body:
            if chunk:
                await connection.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await connection.write(b"0\r\n\r\n")

    async def _relay_response(
        self, connection: UpstreamConnection, exchange: Exchange, send: Send, read_timeout: float
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": exchange.status,
                "headers": response_headers(exchange.headers),
            }
        )
        if exchange.complete:  # the usual case: the whole answer came in one read
            await send({"type": "http.response.body", "body": b"".join(exchange.chunks)})
            return
        # After the start is sent a failure cannot become a 502: it aborts the response.
        while (chunk := await connection.next_chunk(read_timeout)) is not None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
