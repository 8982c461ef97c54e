"""Forwarding ``/api/v1/{training,coaching,incidents}/...`` to the services.

This is the hottest code in the product, so it is a pure ASGI middleware that never
enters the router, and the bytes travel through one connection pool per upstream
(``gateway.relay``, chosen by measurement; see the README's performance section). Tests
wire an upstream to a service's ASGI app through httpx instead; both implement
:class:`Upstream`.

Per request: the caller must be authenticated; the client's ``Authorization`` is replaced
(never appended) by a short-lived internal token for that service; hop-by-hop headers and
cookies are dropped both ways; bodies stream both ways. Failures, all problem+json: a
refused connection is a 502 (retried first for GET/HEAD/OPTIONS without a body: nothing
reached the service), a timeout a 504, an open circuit breaker a 503 with ``Retry-After``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.metrics import UPSTREAM_REQUEST_SECONDS
from gateway.resilience import BreakerOpen, BreakerState, CircuitBreaker, retry_after_header
from kit.clients import MIN_BUDGET_SECONDS, TIMEOUT_HEADER
from kit.errors import (
    BadGateway,
    DomainError,
    Forbidden,
    GatewayTimeout,
    ServiceUnavailable,
    Unauthorized,
    domain_error_response,
)
from kit.identity import Caller, InternalTokenSigner, PrincipalKind

API_PREFIX = "/api/v1/"
_BUDGET_HEADER = TIMEOUT_HEADER.lower().encode()
# Never forwarded: connection-level headers (RFC 9110 §7.6.1), the client's credentials
# (replaced by the internal token), its cookies, and the request id (set by us).
_DROPPED_REQUEST_HEADERS = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"authorization",
        b"cookie",
        b"x-request-id",
    }
)
_DROPPED_RESPONSE_HEADERS = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"set-cookie",
        b"server",
        b"date",
        b"x-request-id",
    }
)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# labels() takes a lock and builds a key on every call: keep the children per series.
_UPSTREAM_SERIES: dict[tuple[str, str], Any] = {}


def _observe(upstream: str, outcome: str, seconds: float) -> None:
    series = _UPSTREAM_SERIES.get((upstream, outcome))
    if series is None:
        series = _UPSTREAM_SERIES[(upstream, outcome)] = UPSTREAM_REQUEST_SECONDS.labels(
            upstream, outcome
        )
    series.observe(seconds)


class UpstreamError(Exception):
    pass


class UpstreamUnreachable(UpstreamError):
    """No connection could be made: the request never reached the service."""


class UpstreamFailed(UpstreamError):
    """The connection broke after the request was sent: the service may have acted."""


class UpstreamTimedOut(UpstreamError):
    pass


class Upstream(Protocol):
    name: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

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
        """Send the request upstream and stream the answer to ``send``. Raises an
        :class:`UpstreamError` only before anything was sent to the client.
        ``read_timeout`` shortens the upstream's own for this request."""

    async def fetch_json(self, target: str, *, headers: dict[str, str], method: str = "GET") -> Any:
        """A JSON document the gateway asks for itself (the service's OpenAPI document, a
        person's data; ``POST`` without a body for an erasure step)."""


def response_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(name, value) for name, value in raw if name.lower() not in _DROPPED_RESPONSE_HEADERS]


class HttpxUpstream:
    """Same contract over an httpx client; tests give it an ``ASGITransport`` to a service."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport,
        timeout: httpx.Timeout,
    ) -> None:
        self.name = name
        self._client = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=timeout)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        await self._client.aclose()

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
        request = self._client.build_request(
            method,
            target,
            headers=headers,
            content=body,
            timeout=self._client.timeout
            if read_timeout is None
            else min(read_timeout, self._client.timeout.read or read_timeout),
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise UpstreamTimedOut(str(exc)) from exc
        except httpx.ConnectError as exc:
            raise UpstreamUnreachable(str(exc)) from exc
        except httpx.TransportError as exc:
            raise UpstreamFailed(str(exc)) from exc
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": response_headers(list(response.headers.raw)),
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()

    async def fetch_json(self, target: str, *, headers: dict[str, str], method: str = "GET") -> Any:
        try:
            response = await self._client.request(method, target, headers=headers)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamUnreachable(str(exc)) from exc


def _budget_of(scope: Scope) -> float | None:
    """The seconds a calling service gives this call (``Request-Timeout``, see
    ``kit.clients``), or ``None``. Only services are heard: a timeout counts against the
    upstream's breaker, and a client must not be able to open it for everyone."""
    for name, value in scope["headers"]:
        if name == _BUDGET_HEADER:
            try:
                seconds = float(value)
            except ValueError:
                return None
            return seconds if seconds >= MIN_BUDGET_SECONDS else None
    return None


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return bool(value != b"0")
        if name == b"transfer-encoding":
            return True
    return False


async def _stream_body(receive: Receive) -> AsyncIterator[bytes]:
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        more = message.get("more_body", False)


class InternalTokenCache:
    """Reuses the internal token of a principal for half its lifetime.

    Signing is the largest per-request cost left on the forwarding path; a token names
    only the principal, its roles and the audience (the request id travels in
    ``X-Request-ID``), so the same token serves every request of that principal until it
    is refreshed. The roles are part of the key: a role change gets a new token at once.
    The window is on the wall clock the token's own ``iat``/``exp`` use, so a clock step
    either way makes a fresh token rather than one the service would refuse.
    """

    MAX_ENTRIES = 10_000

    def __init__(
        self,
        signer: InternalTokenSigner,
        *,
        reuse_seconds: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signer = signer
        self.reuse_seconds = reuse_seconds
        self.clock = clock
        self._tokens: dict[tuple[Any, ...], tuple[str, float]] = {}

    def token_for(self, caller: Caller, *, audience: str) -> str:
        key = (audience, caller.subject, caller.kind, caller.roles, caller.scopes)
        now = self.clock()
        cached = self._tokens.get(key)
        if cached is not None and cached[1] <= now < cached[1] + self.reuse_seconds:
            return cached[0]
        if len(self._tokens) >= self.MAX_ENTRIES:
            self._tokens.clear()
        token = self.signer.sign(
            audience=audience,
            subject=caller.subject,
            kind=caller.kind,
            roles=caller.roles,
            scopes=caller.scopes,
        )
        self._tokens[key] = (token, now)
        return token


class ProxyMiddleware:
    """Forwards requests for a known upstream prefix; everything else goes to the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        upstreams: Callable[[], Mapping[str, Upstream]],
        breakers: Callable[[], Mapping[str, CircuitBreaker]],
        signer: InternalTokenSigner,
        service_permissions: Mapping[str, frozenset[str]],
        connect_retries: int,
    ) -> None:
        self.app = app
        self.upstreams = upstreams
        self.breakers = breakers
        self.tokens = InternalTokenCache(signer)
        self.service_permissions = service_permissions
        self.connect_retries = connect_retries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        name = path[len(API_PREFIX) :].split("/", 1)[0]
        upstream = self.upstreams().get(name)
        if upstream is None:
            await self.app(scope, receive, send)
            return
        scope["route_label"] = f"proxy:{name}"
        try:
            await self._forward(scope, receive, send, upstream)
        except DomainError as error:
            await domain_error_response(error, instance=path)(scope, receive, send)

    async def _forward(
        self, scope: Scope, receive: Receive, send: Send, upstream: Upstream
    ) -> None:
        state = scope.get("state", {})
        caller = state.get("caller")
        if not isinstance(caller, Caller):
            raise Unauthorized("Sign in: send a bearer token in the Authorization header.")
        self._authorise(caller, upstream.name)
        request_id = state.get("request_id")
        token = self.tokens.token_for(caller, audience=upstream.name)
        headers = [
            (name, value)
            for name, value in scope["headers"]
            if name not in _DROPPED_REQUEST_HEADERS
        ]
        headers.append((b"authorization", b"Bearer " + token.encode()))
        if request_id:
            headers.append((b"x-request-id", request_id.encode()))
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        has_body = _has_body(scope)
        read_timeout = _budget_of(scope) if caller.kind is PrincipalKind.SERVICE else None
        # Only a request that cannot change anything and whose body was not consumed may
        # be sent twice.
        retries = self.connect_retries if scope["method"] in SAFE_METHODS and not has_body else 0
        breaker = self.breakers()[upstream.name]
        for attempt in range(retries + 1):
            try:
                await self._call(
                    upstream,
                    breaker,
                    method=scope["method"],
                    target=target.decode("latin-1"),
                    headers=headers,
                    body=_stream_body(receive) if has_body else None,
                    send=send,
                    read_timeout=read_timeout,
                )
                return
            except UpstreamUnreachable as exc:
                # A retry the breaker would refuse is not made: the answer stays a 502.
                if attempt < retries and breaker.state is BreakerState.CLOSED:
                    continue
                raise BadGateway(
                    f"The {upstream.name} service could not be reached. Try again shortly."
                ) from exc
            except UpstreamFailed as exc:
                raise BadGateway(
                    f"The connection to the {upstream.name} service broke before it answered."
                ) from exc
            except UpstreamTimedOut as exc:
                raise GatewayTimeout(
                    f"The {upstream.name} service did not answer in time."
                ) from exc

    async def _call(
        self,
        upstream: Upstream,
        breaker: CircuitBreaker,
        *,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: AsyncIterator[bytes] | None,
        send: Send,
        read_timeout: float | None,
    ) -> None:
        """One attempt, through the breaker, timed into the upstream histogram."""
        try:
            breaker.before_call()
        except BreakerOpen as exc:
            _observe(upstream.name, "breaker_open", 0.0)
            raise ServiceUnavailable(
                f"The {upstream.name} service is failing; calls are paused. "
                f"Retry after {retry_after_header(exc.retry_after)} s.",
                headers={"Retry-After": retry_after_header(exc.retry_after)},
            ) from exc
        start = time.perf_counter()
        outcome = "ok"
        try:
            await upstream.relay(
                method=method,
                target=target,
                headers=headers,
                body=body,
                send=send,
                read_timeout=read_timeout,
            )
        except UpstreamTimedOut:
            outcome = "timeout"
            breaker.record_failure()
            raise
        except UpstreamError:
            outcome = "refused"
            breaker.record_failure()
            raise
        except BaseException:
            # The client went away, or sending to it failed: this says nothing about the
            # upstream, but a half-open breaker's trial slot must be released.
            breaker.abandon()
            raise
        else:
            breaker.record_success()
        finally:
            _observe(upstream.name, outcome, time.perf_counter() - start)

    def _authorise(self, caller: Caller, upstream: str) -> None:
        if caller.kind is not PrincipalKind.SERVICE:
            return
        service = caller.subject.removeprefix("service:")
        if upstream not in self.service_permissions.get(service, frozenset()):
            raise Forbidden(f"The {service} service may not call the {upstream} service.")
