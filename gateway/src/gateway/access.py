"""Who may use which part of the gateway's own API, and which upstreams a service may call.

The rules live here, apart from the routes, so the proxy (forwarded calls) and the
gateway's own routes (``directory``) answer the same question the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from starlette.routing import compile_path

from gateway.api_clients.schemas import Scope as ApiScope
from kit.errors import Forbidden
from kit.identity import Caller, PrincipalKind, Role

# Which APIs a service principal may call through the gateway ("directory" is the
# gateway's own people directory).
SERVICE_PERMISSIONS: Mapping[str, frozenset[str]] = {
    "training": frozenset({"directory", "incidents", "coaching"}),
    # incidents: the legal holds, which coaching's retention respects.
    "coaching": frozenset({"training", "directory", "incidents"}),
    "incidents": frozenset({"coaching", "training", "directory"}),
}

# The scope an API client needs to read the people directory.
DIRECTORY_READ_SCOPE = ApiScope.DIRECTORY_READ.value

# What each API client scope opens under /api/ (README, "API clients", says the same and
# tests/gateway/test_scopes.py holds them to it); anything else is a 403 for an API client.
# ``scim`` opens /scim/v2 and nothing here (gateway.scim.router.ScimAccess).
SCOPE_ROUTES: Mapping[ApiScope, tuple[tuple[str, str], ...]] = {
    ApiScope.SCIM: (),
    ApiScope.DIRECTORY_READ: (
        ("GET", "/api/v1/directory/people"),
        ("GET", "/api/v1/directory/people/{person_id}"),
        ("POST", "/api/v1/directory/lookup"),
    ),
    ApiScope.REPORTS_READ: (
        ("GET", "/api/v1/training/reports/acknowledgements"),
        ("GET", "/api/v1/training/reports/acknowledgements/people"),
        ("GET", "/api/v1/training/reports/completion"),
        ("GET", "/api/v1/training/reports/modules/{module_id}/questions"),
        ("GET", "/api/v1/training/reports/effect"),
        ("GET", "/api/v1/training/reports/effect.csv"),
    ),
}
_SCOPE_PATTERNS: tuple[tuple[ApiScope, str, re.Pattern[str]], ...] = tuple(
    (scope, method, compile_path(path)[0])
    for scope, routes in SCOPE_ROUTES.items()
    for method, path in routes
)


def scopes_opening(method: str, path: str) -> set[str]:
    """The scopes that open ``method path`` to an API client (``HEAD`` as ``GET``)."""
    method = "GET" if method == "HEAD" else method
    return {
        scope.value
        for scope, allowed, pattern in _SCOPE_PATTERNS
        if allowed == method and pattern.match(path)
    }


def check_api_client_scope(caller: Caller, method: str, path: str) -> None:
    opening = scopes_opening(method, path)
    if opening.isdisjoint(caller.scopes):
        held = ", ".join(sorted(caller.scopes)) or "none"
        needed = (
            f"it needs the {' or '.join(sorted(opening))} scope"
            if opening
            else "no scope opens it to API clients"
        )
        raise Forbidden(f"This API client's scopes ({held}) do not open {method} {path}; {needed}.")


def service_may_call(caller: Caller, api: str) -> bool:
    service = caller.subject.removeprefix("service:")
    return api in SERVICE_PERMISSIONS.get(service, frozenset())


def check_directory_reader(caller: Caller) -> None:
    """People read the directory; so do the services allowed to, and API clients with
    the ``directory:read`` scope."""
    if caller.kind is PrincipalKind.USER:
        return
    if caller.kind is PrincipalKind.SERVICE:
        if service_may_call(caller, "directory"):
            return
        raise Forbidden(f"The {caller.subject} principal may not read the directory.")
    if DIRECTORY_READ_SCOPE not in caller.scopes:
        raise Forbidden(f"This API client needs the {DIRECTORY_READ_SCOPE!r} scope.")


def check_event_source(caller: Caller, sources: set[str]) -> None:
    """Only a service hands events to the intake, and only its own."""
    if caller.kind is not PrincipalKind.SERVICE:
        raise Forbidden("Only the services hand events to the gateway.")
    service = caller.subject.removeprefix("service:")
    others = sorted(sources - {service})
    if service not in SERVICE_PERMISSIONS or others:
        raise Forbidden(f"The {caller.subject} principal may not hand on events of {others}.")


def check_admin(caller: Caller) -> None:
    if caller.kind is not PrincipalKind.USER or not caller.has_role(Role.ADMIN):
        raise Forbidden("Only an admin can manage API clients and webhook subscriptions.")
