"""What the gateway does to every request before routing: CORS (Starlette's middleware,
configured in main), then in one layer a throttle of unauthenticated requests per client
address, authentication, rate limits per principal and API client scopes; and how a
refusal is rendered (SCIM clients get SCIM's error body, everyone else problem+json)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from starlette.datastructures import State
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.access import check_api_client_scope
from gateway.resilience import RateLimiter, retry_after_header
from gateway.scim.errors import scim_error_response
from kit.errors import DomainError, Forbidden, TooManyRequests, Unauthorized, domain_error_response
from kit.identity import Caller, PrincipalKind, bearer_token
from kit.runtime import build_chain, edge_middleware

if TYPE_CHECKING:
    from gateway.auth import Authenticator  # which imports refusal from here
    from gateway.config import GatewaySettings

SCIM_PREFIX = "/scim/v2"
# Where credentials are needed; health, metrics and the API documents stay unthrottled.
THROTTLED_PREFIXES = ("/api/", SCIM_PREFIX)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def refusal(error: DomainError, scope: Scope) -> Response:
    """The gateway's rendering of a refusal made before routing."""
    if scope["path"].startswith(SCIM_PREFIX):
        return scim_error_response(error.status, error.detail, headers=error.headers)
    return domain_error_response(error, instance=scope["path"])


class ServiceShortcut:
    """A route a service calls on every decision, answered the short way: the request id,
    log line, metrics and body limit (``kit.runtime.edge_middleware``), then the route's
    own answer, without the public edge, the router and FastAPI's dependencies (a service
    principal is neither throttled nor rate limited and has no scopes).

    A subclass names its ``route_label`` (the metrics' and the log's route), says in
    :meth:`_service` which requests it takes (the caller, or ``None``: the long way, as
    before) and answers them in :meth:`_answer`."""

    route_label: ClassVar[str]

    def __init__(self, *, full: ASGIApp, state: State, settings: GatewaySettings) -> None:
        self.full = full
        # The authenticator and the database exist once the lifespan has run.
        self.state = state
        self.short = build_chain(self._answer, edge_middleware("gateway", settings, refuse=refusal))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = self._service(scope)
        if caller is None:
            await self.full(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        scope["route_label"] = self.route_label
        await self.short(scope, receive, send)

    def _service(self, scope: Scope) -> Caller | None:
        raise NotImplementedError

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


def trusted_networks(entries: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(scope: Scope, trusted: tuple[Network, ...]) -> str:
    """The peer's address, or, when the peer is a trusted reverse proxy, the last address
    in ``X-Forwarded-For`` that is not one (the client as the first trusted proxy saw it;
    entries before it are the client's own claims)."""
    client = scope.get("client")
    address = str(client[0]) if client else "unknown"
    if not trusted or not _trusted(address, trusted):
        return address
    forwarded: list[str] = [
        entry.strip()
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
        for entry in value.decode("latin-1").split(",")
    ]
    for entry in reversed(forwarded):
        if entry and not _trusted(entry, trusted):
            return entry
    return address


class GatewayEdgeMiddleware:
    """The gateway's own steps for every request, in one pass after kit's (kit.edge) and
    before its routes and the proxy. They were four middleware layers, each a coroutine per
    request; the bearer token is now read once.

    1. **Anonymous throttle**, by client address, of requests refused for want of valid
       credentials: each 401 takes a token from the address's bucket, and once it is empty
       the address's requests get 429 before any token is verified (a person's token this
       gateway has already verified still goes through). A flood of bad or missing tokens
       costs a dictionary lookup per request, not a signature check and a database query.
    2. **Authentication**: the bearer token, if any, becomes ``scope["state"]["caller"]``.
       A token that is present but invalid is refused here; a missing one is refused by
       whatever needs a caller (the proxy, or a route's dependency), so public routes stay
       public.
    3. **Rate limits** per person and API client. Service principals are not limited:
       their calls are part of a request that was already counted. SCIM requests count
       against SCIM's own budget (an identity provider's sync is bursts of thousands).
    4. **API client scopes**: an API client reaches only the routes its scopes open,
       whatever a service would allow it (gateway.access), decided once, before anything
       is forwarded.

    The limiters and the authenticator are built in the lifespan, after the middleware
    stack exists: looked up per call."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Callable[[], Authenticator],
        anonymous_limiter: Callable[[], RateLimiter | None],
        limiter: Callable[[], RateLimiter | None],
        scim_limiter: Callable[[], RateLimiter | None] = lambda: None,
        trusted_proxies: tuple[Network, ...] = (),
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.anonymous_limiter = anonymous_limiter
        self.limiter = limiter
        self.scim_limiter = scim_limiter
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        throttle = (
            self.anonymous_limiter() if scope["path"].startswith(THROTTLED_PREFIXES) else None
        )
        if throttle is None:
            await self._authenticated(scope, receive, send, token)
            return
        address = client_address(scope, self.trusted_proxies)
        wait = throttle.wait(address)
        if wait is not None and (token is None or not self.authenticator().knows(token)):
            error = TooManyRequests(
                "Too many requests without valid credentials from this address; "
                f"retry after {retry_after_header(wait)} s.",
                headers={"Retry-After": retry_after_header(wait)},
            )
            await refusal(error, scope)(scope, receive, send)
            return
        refused = False

        async def watching_send(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and message["status"] == 401:
                refused = True
            await send(message)

        await self._authenticated(scope, receive, watching_send, token)
        if refused:
            throttle.acquire(address)

    async def _authenticated(
        self, scope: Scope, receive: Receive, send: Send, token: str | None
    ) -> None:
        if token is not None:
            try:
                caller = await self.authenticator().authenticate(token)
            except Unauthorized as error:
                await refusal(error, scope)(scope, receive, send)
                return
            scope.setdefault("state", {})["caller"] = caller
        caller = scope.get("state", {}).get("caller")
        refused = None
        if isinstance(caller, Caller):
            refused = self._over_rate(caller, scope) or _out_of_scope(caller, scope)
        if refused is not None:
            await refused(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _over_rate(self, caller: Caller, scope: Scope) -> Response | None:
        if caller.kind is PrincipalKind.SERVICE:
            return None
        scim = scope["path"].startswith(SCIM_PREFIX)
        limiter = self.scim_limiter() if scim else self.limiter()
        wait = None if limiter is None else limiter.acquire(caller.principal_key)
        if limiter is None or wait is None:
            return None
        error = TooManyRequests(
            f"Rate limit of {limiter.rate:g} requests per second exceeded; "
            f"retry after {retry_after_header(wait)} s.",
            headers={"Retry-After": retry_after_header(wait)},
        )
        return refusal(error, scope)


def _out_of_scope(caller: Caller, scope: Scope) -> Response | None:
    if caller.kind is not PrincipalKind.API_CLIENT or not scope["path"].startswith("/api/"):
        return None
    try:
        check_api_client_scope(caller, scope["method"], scope["path"])
    except Forbidden as error:
        return domain_error_response(error, instance=scope["path"])
    return None
