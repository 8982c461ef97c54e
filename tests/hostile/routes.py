"""Every route of every app, read from the apps' own OpenAPI documents (and the SCIM app's
routes, which have no document), with what a hostile client can send to each: the cases
are derived from the declared parameters and body schemas, so a new route or field is
covered without touching the tests."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

import coaching.main
import gateway.main
import incidents.main
import training.main
from coaching.config import CoachingSettings
from gateway.config import GatewaySettings
from gateway.scim.router import PREFIX as SCIM_PREFIX
from gateway.scim.router import create_scim_app
from incidents.config import IncidentsSettings
from training.config import TrainingSettings

NUL = "a\u0000b"
EARLY = "0001-01-01T00:00:00Z"
HUGE = 2**70
# Per operation, at most this many body fields get their own cases (the suite runs twice).
MAX_FIELDS = 30
METHODS = ("get", "post", "put", "patch", "delete")


def forged_cursor(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


FORGED_CURSORS = {
    "naive-date": forged_cursor('["2026-01-01T12:00:00", "6f1c2a4e-4f0b-4c7e-9a59-0d0f0b7f9d11"]'),
    "deep": forged_cursor("[" * 3000),
    "garbage": "%%not-a-cursor%%",
}


@dataclass(frozen=True)
class Operation:
    app: str
    method: str
    path: str
    spec: dict[str, Any] = field(compare=False, hash=False)
    components: dict[str, Any] = field(compare=False, hash=False, repr=False)
    # The body's Python type, to validate bodies without the route's lookups.
    body_type: Any = field(default=None, compare=False, hash=False, repr=False)

    @property
    def id(self) -> str:
        return f"{self.app}:{self.method.upper()} {self.path}"

    def parameters(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p.get("in") == where]

    def url(self, **overrides: str) -> str:
        """The path with a fresh id for each parameter, or the given raw values."""
        path = self.path
        for parameter in self.parameters("path"):
            value = overrides.get(parameter["name"], str(uuid.uuid4()))
            path = path.replace("{" + parameter["name"] + "}", value)
        return path

    def body_schema(self) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        return self.resolve(schema) if schema is not None else None

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema


def _settings() -> dict[str, Any]:
    url = "sqlite+aiosqlite:///:memory:"
    return {
        "gateway": GatewaySettings(database_url=url, environment="test"),
        "training": TrainingSettings(database_url=url, environment="test"),
        "coaching": CoachingSettings(database_url=url, environment="test"),
        "incidents": IncidentsSettings(database_url=url, environment="test"),
    }


def _apps() -> dict[str, FastAPI]:
    settings = _settings()
    return {
        "gateway": gateway.main.create_app(settings["gateway"]),
        "training": training.main.create_app(settings["training"]),
        "coaching": coaching.main.create_app(settings["coaching"]),
        "incidents": incidents.main.create_app(settings["incidents"]),
    }


def api_operations() -> list[Operation]:
    """Every operation under /api/ in the four apps' documents (no lifespan needed)."""
    operations = []
    for app, instance in _apps().items():
        document = instance.openapi()
        components = document.get("components", {}).get("schemas", {})
        bodies = {
            (method.lower(), path): route.body_field.field_info.annotation
            for path, route in _api_routes(instance.routes)
            if route.body_field is not None
            for method in route.methods or ()
        }
        for path, item in document["paths"].items():
            if not path.startswith("/api/"):
                continue
            for method in METHODS:
                if method in item:
                    body_type = bodies.get((method, path))
                    operations.append(
                        Operation(app, method, path, item[method], components, body_type)
                    )
    return operations


def _api_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) of every route, through included routers."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = route.include_context  # type: ignore[attr-defined]
            yield from _api_routes(included.routes, prefix + context.prefix)
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route


def scim_routes() -> list[tuple[str, str]]:
    """(method, path) of every SCIM route."""
    app = create_scim_app(public_url="http://gateway")
    return [
        (method, SCIM_PREFIX + path)
        for path, route in _api_routes(app.routes)
        for method in sorted(route.methods or ())
        if method != "HEAD"
    ]


# -- body fields ------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """A scalar field somewhere in a body: its path and schema."""

    path: tuple[str | int, ...]
    schema: dict[str, Any]

    @property
    def pointer(self) -> str:
        return "/" + "/".join(str(part) for part in self.path)

    def body(self, value: Any) -> Any:
        """A body holding ``value`` at this field and nothing else."""
        body: Any = value
        for part in reversed(self.path):
            body = [body] if isinstance(part, int) else {part: body}
        return body


def _non_null(operation: Operation, schema: dict[str, Any]) -> dict[str, Any]:
    schema = operation.resolve(schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [operation.resolve(s) for s in schema[key] if s.get("type") != "null"]
            if len(options) == 1:
                return _non_null(operation, options[0])
            return {}
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _non_null(operation, schema["allOf"][0])
    return schema


def leaves(
    operation: Operation, schema: dict[str, Any], path: tuple[str | int, ...] = ()
) -> Iterator[Leaf]:
    schema = _non_null(operation, schema)
    if schema.get("type") == "object" or "properties" in schema:
        for name, child in schema.get("properties", {}).items():
            if not child.get("readOnly"):
                yield from leaves(operation, child, (*path, name))
    elif schema.get("type") == "array" and "items" in schema:
        yield from leaves(operation, schema["items"], (*path, 0))
    elif schema.get("type") in ("string", "integer"):
        yield Leaf(path, schema)


def hostile_values(leaf: Leaf) -> list[tuple[str, Any]]:
    """What to put in one field: each must be refused with a 422 naming it."""
    schema = leaf.schema
    if schema.get("type") == "integer":
        return [("huge-integer", HUGE)]
    if "enum" in schema or "const" in schema:
        return [("not-a-member", NUL)]
    values: list[tuple[str, Any]] = [("nul", NUL)]
    if schema.get("format") == "date-time":
        values.append(("year-1", EARLY))
    elif schema.get("format") == "uuid":
        values.append(("not-a-uuid", "not-a-uuid"))
    elif "maxLength" in schema:
        values.append(("too-long", "x" * (schema["maxLength"] + 1)))
    return values
