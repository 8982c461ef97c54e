"""Two answers a public API owes that the router gets wrong, given before it runs:

* **A trailing slash** (``/api/v1/training/modules/``) is a 308 to the same path without
  it, as a *relative* ``Location``. Starlette's own redirect names the address the app was
  reached at, which behind the gateway is the service's internal one, unreachable from a
  browser. 308 keeps the method and the body.
* **A wrong method on a static path** (``PATCH /api/v1/incidents/my-actions``) is a 405
  with ``Allow``. Without this the router hands it to ``PATCH /{incident_id}`` and the
  client gets a 422 about an id it never meant to send.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.routing import (
    _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
    _FASTAPI_SCOPE_KEY,
    APIRoute,
    APIRouter,
    iter_route_contexts,
)
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from kit.errors import problem_response


def static_methods(app: FastAPI) -> dict[str, frozenset[str]]:
    """The methods each parameterless route path serves (``HEAD`` wherever ``GET`` is)."""
    methods: dict[str, set[str]] = {}
    for route in iter_route_contexts(app.routes):  # included routers' routes too
        if route.path and "{" not in route.path and route.methods:
            methods.setdefault(route.path, set()).update(route.methods)
    for served in methods.values():
        if "GET" in served:
            served.add("HEAD")
    return {path: frozenset(served) for path, served in methods.items()}


def without_trailing_slash(path: str, query: bytes) -> str | None:
    """Where a request for ``path`` with a trailing slash belongs, or None when it has no
    such place (``/``, or a path that would become ``//host``, which a browser reads as
    another site)."""
    stripped = path.rstrip("/")
    if not stripped or stripped.startswith("//"):
        return None
    return stripped + ("?" + query.decode("latin-1") if query else "")


class RouteShapes:
    """The answer a request gets for its path's shape before routing, if any (the module
    docstring says which); the static paths are read from ``owner`` once, at the first
    request, when every route has been added."""

    def __init__(self, owner: FastAPI) -> None:
        self.owner = owner
        self._static: Mapping[str, frozenset[str]] | None = None

    def refusal(self, scope: Scope) -> Response | None:
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            return self._slash(path, scope)
        if self._static is None:
            self._static = static_methods(self.owner)
        allowed = self._static.get(path)
        if allowed is None or scope["method"] in allowed:
            return None
        listed = ", ".join(sorted(allowed))
        return problem_response(
            status=405,
            detail=f"Method {scope['method']} is not allowed on {path}; allowed: {listed}.",
            instance=path,
            headers={"Allow": listed},
        )

    @staticmethod
    def _slash(path: str, scope: Scope) -> Response:
        location = without_trailing_slash(path, scope.get("query_string", b""))
        if location is None:
            return problem_response(status=404, detail=f"No resource at {path}.", instance=path)
        return Response(status_code=308, headers={"Location": location})


# FastAPI 0.165 keeps a request's chosen route in these scope keys; its routes read them.
_FASTAPI_SCOPE = _FASTAPI_SCOPE_KEY
_CHOSEN_ROUTE = _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY


class IndexedRouter:
    """FastAPI's router, minus its walk, for a request that names one of the app's routes.

    FastAPI matches a request against an included router's routes once to choose the
    router and again to choose the route, through a handful of calls per route: 60-120 µs
    per request on a service's 30-60 routes, a few % of its CPU. Here the same routes, in
    the same order, are one flat list of compiled paths, read once at the first request
    (like :class:`RouteShapes`). The choice is FastAPI's: the first route whose path and
    method match, run by FastAPI's own route. Anything else (no such route, a wrong method,
    a mount or another kind of route that matches first, a root path) is left to
    ``router`` itself, which answers as it always does."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self._entries: list[tuple[re.Pattern[str] | None, Any]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            if self._entries is None:
                self._entries = _flat_routes(self.router)
            chosen = self._choose(scope)
            if chosen is not None:
                await chosen.handle(scope, receive, send)
                return
        await self.router(scope, receive, send)

    def _choose(self, scope: Scope) -> APIRoute | None:
        """The route FastAPI would run, with the scope set as FastAPI sets it; None to
        leave the request to the router."""
        path: str = scope["path"]
        assert self._entries is not None
        for pattern, entry in self._entries:
            if pattern is None:  # the route's own match, as the router asks it
                match, child_scope = entry.matches(scope)
                if match is not Match.FULL:
                    continue
                if not isinstance(entry, APIRoute):
                    return None  # a mount or the like: the router's to run
                scope.update(child_scope)  # an app's own route, outside included routers
                scope.setdefault("router", self.router)
                return entry
            found = pattern.match(path)
            if found is None or (entry.methods and scope["method"] not in entry.methods):
                continue  # a path matched with another method: a later route may serve it
            params = dict(scope.get("path_params", {}))
            for name, value in found.groupdict().items():
                params[name] = entry.param_convertors[name].convert(value)
            route: APIRoute = entry.original_route
            scope["endpoint"] = entry.endpoint
            scope["path_params"] = params
            scope["route"] = route
            scope.setdefault("router", self.router)
            scope.setdefault(_FASTAPI_SCOPE, {})[_CHOSEN_ROUTE] = entry
            return route
        return None


def _flat_routes(router: APIRouter) -> list[tuple[re.Pattern[str] | None, Any]]:
    """Every route of ``router``, included routers' too, in the order FastAPI tries them:
    an API route as its compiled path and FastAPI's context for it, any other as itself."""
    entries: list[tuple[re.Pattern[str] | None, Any]] = []
    for context in iter_route_contexts(router.routes):
        effective = context._route_context
        if (
            effective is not None
            and effective.starlette_route is None
            and isinstance(effective.original_route, APIRoute)
        ):
            entries.append((effective.path_regex, effective))
        else:
            entries.append((None, effective or context.route))
    return entries
