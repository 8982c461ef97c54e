"""Who may use which part of the gateway's own API, and which upstreams a service may call.

The rules live here, apart from the routes, so the proxy (forwarded calls) and the
gateway's own routes (``directory``) answer the same question the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from kit.errors import Forbidden
from kit.identity import Caller, PrincipalKind, Role

# Which APIs a service principal may call through the gateway ("directory" is the
# gateway's own people directory).
SERVICE_PERMISSIONS: Mapping[str, frozenset[str]] = {
    "training": frozenset({"directory"}),
    "coaching": frozenset({"training", "directory"}),
    "incidents": frozenset({"coaching", "directory"}),
}

# The scope an API client needs to read the people directory.
DIRECTORY_READ_SCOPE = "directory:read"


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
        raise Forbidden("Only an admin can manage API clients.")
