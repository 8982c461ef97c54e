"""Calling another service: through the gateway, as this service's own principal.

One pooled ``httpx.AsyncClient`` per upstream, created in the app's lifespan and closed
there. Every request gets a fresh internal token (they live seconds) and carries the
current request id so one user action can be followed across services in the logs.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from kit.context import current_request_id
from kit.identity import GATEWAY_AUDIENCE, InternalTokenSigner, PrincipalKind

DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=20)


class InternalTokenAuth(httpx.Auth):
    """Signs each outgoing request with a fresh internal token (they live seconds) and
    passes on the current request id."""

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

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request_id = current_request_id()
        token = self.signer.sign(
            audience=self.audience,
            subject=self.subject,
            kind=self.kind,
            roles=self.roles,
            request_id=request_id,
        )
        request.headers["Authorization"] = f"Bearer {token}"
        if request_id:
            request.headers["X-Request-ID"] = request_id
        yield request


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
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> httpx.AsyncClient:
    """The pooled client a service uses to reach other services through the gateway.

    ``transport`` lets tests wire the client to the gateway's ASGI app in-process.
    """
    return httpx.AsyncClient(
        base_url=base_url,
        auth=service_principal_auth(signer, service_name=service_name),
        timeout=timeout,
        limits=DEFAULT_LIMITS,
        transport=transport,
        # Never keep cookies in a shared client: they would leak between callers.
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        follow_redirects=False,
    )
