"""Calling another service: through the gateway, as this service's own principal.

One pooled ``httpx.AsyncClient`` per upstream, created in the app's lifespan and closed
there. Every request gets a fresh internal token (they live seconds) and carries the
current request id so one user action can be followed across services in the logs.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from kit.context import current_request_id
from kit.errors import BadRequest
from kit.identity import GATEWAY_AUDIENCE, InternalTokenSigner, PrincipalKind
from kit.transport import Http1Transport

MAX_CONNECTIONS = 50
DEFAULT_LIMITS = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=20)
# A call's budget goes to the gateway in this header: the gateway gives the service that
# long and answers 504 itself, its breaker counting the timeout. We wait a margin longer,
# for that answer: if we gave up first, the gateway would only see us hang up, and a hung
# service would never open its breaker.
TIMEOUT_HEADER = "Request-Timeout"
DEFAULT_BUDGET_SECONDS = 5.0
MARGIN_SECONDS = 1.0
MIN_BUDGET_SECONDS = 0.05
CONNECT_TIMEOUT_SECONDS = 2.0


def budget(seconds: float) -> dict[str, Any]:
    """Keyword arguments for one call through the gateway that must not take longer than
    ``seconds`` (e.g. ``client.get(url, **budget(0.6))``)."""
    return {
        "headers": {TIMEOUT_HEADER: f"{seconds:g}"},
        "timeout": httpx.Timeout(seconds + MARGIN_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
    }


class InternalTokenAuth(httpx.Auth):
    """Signs outgoing requests with an internal token and passes on the current request id
    (``X-Request-ID``).

    One token serves every request for half its lifetime, as the gateway's own
    (``gateway.proxy.InternalTokenCache``): it names only the principal, so signing one per
    request cost the caller an HS256 signature and the gateway a verification it could
    not answer from its cache, on every call (issue 16). The request id travels in the
    header, where the gateway's request context takes it."""

    def __init__(
        self,
        signer: InternalTokenSigner,
        *,
        audience: str,
        subject: str,
        kind: PrincipalKind,
        roles: Iterable[str] = (),
    ) -> None:
        self.signer = signer
        self.audience = audience
        self.subject = subject
        self.kind = kind
        self.roles = tuple(roles)
        # (token, when it was signed on the wall clock its iat/exp use)
        self._token: tuple[str, float] | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._current_token()}"
        request_id = current_request_id()
        if request_id:
            request.headers["X-Request-ID"] = request_id
        yield request

    def _current_token(self) -> str:
        now = time.time()
        reuse_seconds = self.signer.lifetime_seconds / 2
        # A clock stepped back (now before signed) gets a fresh token too.
        if self._token is None or not self._token[1] <= now < self._token[1] + reuse_seconds:
            token = self.signer.sign(
                audience=self.audience, subject=self.subject, kind=self.kind, roles=self.roles
            )
            self._token = (token, now)
        return self._token[0]


def service_principal_auth(signer: InternalTokenSigner, *, service_name: str) -> InternalTokenAuth:
    """How a service authenticates to the gateway: as ``service:<name>``."""
    return InternalTokenAuth(
        signer,
        audience=GATEWAY_AUDIENCE,
        subject=f"service:{service_name}",
        kind=PrincipalKind.SERVICE,
    )


def gateway_client(
    *,
    base_url: str,
    signer: InternalTokenSigner,
    service_name: str,
    transport: httpx.AsyncBaseTransport | None = None,
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
) -> httpx.AsyncClient:
    """The pooled client a service uses to reach other services through the gateway; each
    call has ``budget_seconds`` unless it gives its own (``budget``).

    ``transport`` lets tests wire the client to the gateway's ASGI app in-process;
    otherwise a plain ``http://`` gateway is reached through ``kit.transport`` (cheaper
    per call than httpx's own transport) and an ``https://`` one through httpx's.
    """
    default = budget(budget_seconds)
    if transport is None and base_url.startswith("http://"):
        transport = Http1Transport(max_connections=MAX_CONNECTIONS)
    return httpx.AsyncClient(
        base_url=base_url,
        auth=service_principal_auth(signer, service_name=service_name),
        timeout=default["timeout"],
        headers=default["headers"],
        limits=DEFAULT_LIMITS,
        transport=transport,
        # Never keep cookies in a shared client: they would leak between callers.
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        follow_redirects=False,
    )


def raise_for_caller_input(response: httpx.Response) -> None:
    """An upstream's 400 or 422 about input we passed on from our own caller (a cursor, a
    filter) is our caller's error: a 400 with the upstream's words, never an outage."""
    if response.status_code not in (400, 422):
        return
    detail = f"The request was refused by the service it was passed to ({response.status_code})."
    errors = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("detail"), str):
            detail = body["detail"]
        if isinstance(body.get("errors"), list):
            errors = body["errors"]
    raise BadRequest(detail, extensions={"errors": errors} if errors else None)
