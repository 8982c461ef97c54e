"""What the gateway does to every request before routing: CORS (Starlette's middleware,
configured in main), a throttle of unauthenticated requests per client address, rate
limits per principal, and how a refusal is rendered (SCIM clients get SCIM's error body,
everyone else problem+json)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.resilience import RateLimiter, retry_after_header
from gateway.scim.errors import scim_error_response
from kit.errors import DomainError, TooManyRequests, domain_error_response
from kit.identity import Caller, PrincipalKind, bearer_token

SCIM_PREFIX = "/scim/v2"
# Where credentials are needed; health, metrics and the API documents stay unthrottled.
THROTTLED_PREFIXES = ("/api/", SCIM_PREFIX)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def refusal(error: DomainError, scope: Scope) -> Response:
    """The gateway's rendering of a refusal made before routing."""
    if scope["path"].startswith(SCIM_PREFIX):
        return scim_error_response(error.status, error.detail, headers=error.headers)
    return domain_error_response(error, instance=scope["path"])


class RateLimitMiddleware:
    """Limits each authenticated person and API client. Service principals are not
    limited: their calls are part of a request that was already counted. SCIM requests
    count against SCIM's own budget (an identity provider's sync is bursts of thousands)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: Callable[[], RateLimiter | None],
        scim_limiter: Callable[[], RateLimiter | None] = lambda: None,
    ) -> None:
        self.app = app
        # Built in the lifespan: looked up per call.
        self.limiter = limiter
        self.scim_limiter = scim_limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = None
        if scope["type"] == "http":
            scim = scope["path"].startswith(SCIM_PREFIX)
            limiter = self.scim_limiter() if scim else self.limiter()
        if limiter is not None:
            caller = scope.get("state", {}).get("caller")
            if isinstance(caller, Caller) and caller.kind is not PrincipalKind.SERVICE:
                wait = limiter.acquire(caller.principal_key)
                if wait is not None:
                    error = TooManyRequests(
                        f"Rate limit of {limiter.rate:g} requests per second exceeded; "
                        f"retry after {retry_after_header(wait)} s.",
                        headers={"Retry-After": retry_after_header(wait)},
                    )
                    await refusal(error, scope)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


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


class AnonymousThrottleMiddleware:
    """Throttles, by client address, requests that are refused for want of valid
    credentials: each 401 takes a token from the address's bucket, and once it is empty
    the address's requests get 429 before any token is verified (a person's token this
    gateway has already verified still goes through). A flood of bad or missing tokens
    costs a dictionary lookup per request, not a signature check and a database query."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: Callable[[], RateLimiter | None],
        known_token: Callable[[str], bool],
        trusted_proxies: tuple[Network, ...] = (),
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.known_token = known_token
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = self.limiter() if scope["type"] == "http" else None
        if limiter is None or not scope["path"].startswith(THROTTLED_PREFIXES):
            await self.app(scope, receive, send)
            return
        address = client_address(scope, self.trusted_proxies)
        wait = limiter.wait(address)
        if wait is not None:
            token = bearer_token(scope)
            if token is None or not self.known_token(token):
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

        await self.app(scope, receive, watching_send)
        if refused:
            limiter.acquire(address)
