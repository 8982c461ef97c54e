"""One OpenAPI document for the whole API: the gateway's own routes plus each service's
document, fetched from the service (with an internal token) at start-up and again when
it is stale or was missing, so a service that comes back reappears without a restart.

Paths need no rewriting: each service already serves under ``/api/v1/<service>`` (its
root collection, such as ``GET /api/v1/incidents``, included).
Component schemas that two documents define differently are renamed with the service's
name (``TrainingPersonRead``) and every ``$ref`` to them rewritten, so a client generator
sees one consistent set of types.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.proxy import Upstream, UpstreamError
from kit.errors import PROBLEM_MEDIA_TYPE
from kit.identity import InternalTokenSigner, PrincipalKind
from kit.runtime import add_problem_responses

logger = logging.getLogger("gateway.openapi")

OPENAPI_PATH = "/openapi.json"
SCHEMA_REF = "#/components/schemas/"
# What the gateway itself can answer on a forwarded operation.
GATEWAY_ERRORS = {
    "502": "The service could not be reached.",
    "503": "The service is failing; calls are paused (see `Retry-After`).",
    "504": "The service did not answer in time.",
}
Document = dict[str, Any]


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_REF):
                name = value[len(SCHEMA_REF) :]
                out[key] = SCHEMA_REF + renames.get(name, name)
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def merge_documents(own: Document, services: Mapping[str, Document]) -> Document:
    """Pure: the gateway's document with each service's API paths and components."""
    merged = copy.deepcopy(own)
    schemas: dict[str, Any] = merged.setdefault("components", {}).setdefault("schemas", {})
    for service, document in services.items():
        theirs: dict[str, Any] = document.get("components", {}).get("schemas", {})
        renames = {
            name: f"{service.capitalize()}{name}"
            for name, schema in theirs.items()
            if name in schemas and schemas[name] != schema
        }
        document = _rewrite_refs(document, renames)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(renames.get(name, name), schema)
        for path, operations in document.get("paths", {}).items():
            if path == f"/api/v1/{service}" or path.startswith(f"/api/v1/{service}/"):
                merged["paths"][path] = _with_gateway_errors(operations)
    add_problem_responses(merged, prefixes=("/api/",))
    return merged


def _with_gateway_errors(operations: dict[str, Any]) -> dict[str, Any]:
    problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": SCHEMA_REF + "Problem"}}}
    for operation in operations.values():
        if isinstance(operation, dict) and "responses" in operation:
            for status, description in GATEWAY_ERRORS.items():
                operation["responses"].setdefault(
                    status, {"description": description, "content": problem}
                )
    return operations


class MergedOpenApi:
    def __init__(
        self,
        *,
        own: Callable[[], Document],
        upstreams: Callable[[], Mapping[str, Upstream]],
        signer: InternalTokenSigner,
        refresh_seconds: float,
        public_url: str,
    ) -> None:
        self.own = own
        self.upstreams = upstreams
        self.signer = signer
        self.refresh_seconds = refresh_seconds
        self.public_url = public_url
        self._documents: dict[str, Document] = {}
        self._fetched_at: dict[str, float] = {}
        self._merged: Document | None = None
        self._lock = asyncio.Lock()

    async def document(self) -> Document:
        async with self._lock:
            stale = [
                name
                for name in self.upstreams()
                if time.monotonic() - self._fetched_at.get(name, float("-inf"))
                > self.refresh_seconds
                or name not in self._documents
            ]
            if stale:
                await self._fetch(stale)
            if self._merged is None:
                self._merged = merge_documents(self.own(), self._documents)
                self._merged["servers"] = [{"url": self.public_url}]
            return self._merged

    async def _fetch(self, names: list[str]) -> None:
        upstreams = self.upstreams()
        results = await asyncio.gather(*(self._fetch_one(upstreams[name]) for name in names))
        for name, document in zip(names, results, strict=True):
            if document is None:
                continue  # missing (or kept from before); asked again next time
            self._fetched_at[name] = time.monotonic()
            if self._documents.get(name) != document:
                self._documents[name] = document
                self._merged = None

    async def _fetch_one(self, upstream: Upstream) -> Document | None:
        token = self.signer.sign(
            audience=upstream.name, subject="service:gateway", kind=PrincipalKind.SERVICE
        )
        try:
            document = await upstream.fetch_json(
                OPENAPI_PATH, headers={"Authorization": f"Bearer {token}"}
            )
        except UpstreamError as exc:
            logger.warning(
                "could not fetch the OpenAPI document",
                extra={"upstream": upstream.name, "error": str(exc)},
            )
            return None
        return document if isinstance(document, dict) else None


class OpenApiMiddleware:
    """Serves the merged document at ``/openapi.json`` (the docs page at ``/docs`` reads
    it from there)."""

    def __init__(self, app: ASGIApp, *, merged: Callable[[], MergedOpenApi]) -> None:
        self.app = app
        self.merged = merged

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == OPENAPI_PATH
            and scope["method"]
            in (
                "GET",
                "HEAD",
            )
        ):
            document = await self.merged().document()
            await JSONResponse(document)(scope, receive, send)
            return
        await self.app(scope, receive, send)
