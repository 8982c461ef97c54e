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

from collections.abc import Mapping

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

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


class RouteShapeMiddleware:
    def __init__(self, app: ASGIApp, *, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner
        self._static: Mapping[str, frozenset[str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            await self._slash(path, scope)(scope, receive, send)
            return
        if self._static is None:  # routes are all added once the first request arrives
            self._static = static_methods(self.owner)
        allowed = self._static.get(path)
        if allowed is not None and scope["method"] not in allowed:
            listed = ", ".join(sorted(allowed))
            await problem_response(
                status=405,
                detail=f"Method {scope['method']} is not allowed on {path}; allowed: {listed}.",
                instance=path,
                headers={"Allow": listed},
            )(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _slash(path: str, scope: Scope) -> Response:
        location = without_trailing_slash(path, scope.get("query_string", b""))
        if location is None:
            return problem_response(status=404, detail=f"No resource at {path}.", instance=path)
        return Response(status_code=308, headers={"Location": location})
