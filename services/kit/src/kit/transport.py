"""The transport under each service's client to the gateway: HTTP/1.1 keep-alive
connections on :class:`kit.http1.UpstreamConnection`, the protocol the gateway's relay uses.

httpx's own transport (httpcore over anyio) was about two thirds of what a call cost the
calling service: per request a readability poll of the pooled socket, the head and the
body written separately, anyio's checkpoints and cancel scopes, h11's event machinery
(issue 16, py-spy of bench.decision). This one writes the request in one piece and reads
the whole response: the services' calls are small JSON bodies. The client above it is still
``httpx.AsyncClient`` (auth, base URL, timeouts, the ``httpx`` exceptions callers catch).

Plain ``http://`` (the gateway on the local network; an ``https://`` gateway keeps
httpx's transport, ``gateway_client`` chooses), and ``https://`` when given a TLS context
(the gateway's webhook deliveries: certificates checked against it).
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

import httpx

from kit.http1 import IdleConnections, UpstreamConnection

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Below uvicorn's 5 s keep-alive: a connection the server is about to close is never
# reused for a POST, which could not be sent again.
IDLE_SECONDS = 4.0


@dataclass(slots=True)
class _Pool:
    slots: asyncio.Semaphore
    idle: IdleConnections


class Http1Transport(httpx.AsyncBaseTransport):
    """At most ``max_connections`` connections per host, kept ``idle_seconds`` unused;
    ``https://`` only with ``tls``, the context that checks the servers' certificates."""

    def __init__(
        self,
        *,
        max_connections: int,
        idle_seconds: float = IDLE_SECONDS,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._max_connections = max_connections
        self._idle_seconds = idle_seconds
        self._tls = tls
        self._pools: dict[tuple[str, str, int], _Pool] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        scheme = request.url.scheme
        if scheme != "http" and not (scheme == "https" and self._tls is not None):
            raise httpx.UnsupportedProtocol(
                f"this transport speaks plain http, not {scheme}", request=request
            )
        timeouts = request.extensions.get("timeout", {})
        data = _request_bytes(request, await request.aread())
        key = (scheme, request.url.host, request.url.port or (443 if scheme == "https" else 80))
        pool = self._pools.get(key) or self._pools.setdefault(
            key,
            _Pool(asyncio.Semaphore(self._max_connections), IdleConnections(self._idle_seconds)),
        )
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await pool.slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no free connection in time", request=request) from exc
        try:
            status, headers, body = await self._exchange(pool, key, request, data, timeouts)
        finally:
            pool.slots.release()
        return httpx.Response(
            status,
            headers=headers,
            stream=httpx.ByteStream(body),
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        for pool in self._pools.values():
            pool.idle.close()

    async def _exchange(
        self,
        pool: _Pool,
        key: tuple[str, str, int],
        request: httpx.Request,
        data: bytes,
        timeouts: dict[str, float | None],
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """One request and its whole response. A pooled connection the server had just
        closed is replaced once, for a safe request on which nothing came back."""
        read_timeout = timeouts.get("read")
        for _ in range(2):
            connection, reused = await self._connection(pool, key, request, timeouts.get("connect"))
            exchange = connection.begin(head=request.method == "HEAD")
            kept = False
            try:
                await connection.write(data)
                await exchange.head_within(read_timeout)
                parts = []
                while (chunk := await connection.next_chunk(read_timeout)) is not None:
                    parts.append(chunk)
                kept = exchange.keep_alive and connection.usable()
                return exchange.status, exchange.headers, b"".join(parts)
            except TimeoutError as exc:
                raise httpx.ReadTimeout(
                    f"no answer within {read_timeout} s", request=request
                ) from exc
            except ConnectionError as exc:
                if reused and request.method in SAFE_METHODS and not exchange.received_any:
                    continue
                raise httpx.RemoteProtocolError(str(exc), request=request) from exc
            finally:
                # Back to the pool only when the response was read to its end and the
                # server keeps the connection; on any error or cancellation it is closed.
                if kept:
                    pool.idle.give_back(connection)
                else:
                    connection.close()
        raise httpx.RemoteProtocolError(
            "the server closed two connections in a row", request=request
        )

    async def _connection(
        self,
        pool: _Pool,
        key: tuple[str, str, int],
        request: httpx.Request,
        connect_timeout: float | None,
    ) -> tuple[UpstreamConnection, bool]:
        if (idle := pool.idle.take()) is not None:
            return idle, True
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(connect_timeout):
                scheme, host, port = key
                _, connection = await loop.create_connection(
                    lambda: UpstreamConnection(loop),
                    host,
                    port,
                    ssl=self._tls if scheme == "https" else None,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(
                f"no connection within {connect_timeout} s", request=request
            ) from exc
        except OSError as exc:  # ssl.SSLError (a certificate refused) is one too
            raise httpx.ConnectError(str(exc), request=request) from exc
        return connection, False


def _request_bytes(request: httpx.Request, body: bytes) -> bytes:
    """The request line, headers and body in one piece. The body is whole by now, so a
    streamed one goes with its length rather than chunked."""
    headers = request.headers.raw
    if body and any(name.lower() == b"transfer-encoding" for name, _ in headers):
        headers = [(n, v) for n, v in headers if n.lower() != b"transfer-encoding"]
        headers.append((b"Content-Length", str(len(body)).encode("ascii")))
    lines = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    for name, value in headers:
        lines += (name, b": ", value, b"\r\n")
    lines += (b"\r\n", body)
    return b"".join(lines)
