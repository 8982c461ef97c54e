"""What the gateway does to every request before routing: CORS (Starlette's middleware,
configured in main), rate limits per principal, and how a refusal is rendered (SCIM
clients get SCIM's error body, everyone else problem+json)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.resilience import RateLimiter, retry_after_header
from gateway.scim.errors import scim_error_response
from kit.errors import DomainError, TooManyRequests, domain_error_response
from kit.identity import Caller, PrincipalKind

SCIM_PREFIX = "/scim/v2"


def refusal(error: DomainError, scope: Scope) -> Response:
    if scope["path"].startswith(SCIM_PREFIX):
        return scim_error_response(error.status, error.detail, headers=error.headers)
    return domain_error_response(error, instance=scope["path"])


class RateLimitMiddleware:
    """Limits each authenticated person and API client. Service principals are not
    limited: their calls are part of a request that was already counted."""

    def __init__(self, app: ASGIApp, *, limiter: Callable[[], RateLimiter | None]) -> None:
        self.app = app
        # Built in the lifespan: looked up per call.
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = self.limiter() if scope["type"] == "http" else None
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
