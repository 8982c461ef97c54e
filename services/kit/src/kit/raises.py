"""What a route can answer, declared once by the code that answers it and written into
the OpenAPI document from there, so the document cannot drift from the behaviour.

Two sources, no per-route lists:

* **Dependencies** declare what using them brings: :func:`declare` ties an
  :class:`Answers` to a dependency function (``kit.concurrency.IfMatch``: a required
  ``If-Match`` header, 412 and 428, an ``ETag`` on success). Every route whose dependency
  tree holds that function documents it.
* **Middleware every request passes** (body limit, idempotency keys, rate limits) applies
  by shape: :func:`document_answers` adds 413/408 to every operation with a body, and
  ``Idempotency-Key`` with its 409 and 422 to every ``POST``.

The statuses' descriptions and the response headers live here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute

from kit.errors import PROBLEM_STATUSES
from kit.idempotency import KEY_REGEX

HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "The resource's version; send it back in `If-Match` to update it.",
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "The path of the created resource.",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with "
        "the same `Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
# Statuses that come with a header a client must read.
STATUS_HEADERS: dict[int, tuple[str, ...]] = {
    409: ("Retry-After",),
    429: ("Retry-After",),
    503: ("Retry-After",),
}
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retrying with the same key within 24 h replays the first answer instead "
    "of doing the work again (1-255 printable ASCII characters).",
    "schema": {"type": "string", "pattern": KEY_REGEX},
}
BODY_STATUSES = (408, 413)
UNSAFE_METHODS = frozenset({"post", "put", "patch", "delete"})

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Answers:
    statuses: tuple[int, ...] = ()
    required_headers: tuple[str, ...] = ()
    success_headers: tuple[str, ...] = ()
    created_headers: tuple[str, ...] = field(default=())


_DECLARED: dict[Callable[..., Any], Answers] = {}


def declare(answers: Answers) -> Callable[[F], F]:
    """Decorate a dependency function with what every route using it can answer."""

    def register(call: F) -> F:
        _DECLARED[call] = answers
        return call

    return register


def _declared(dependant: Dependant) -> Iterator[Answers]:
    if dependant.call is not None and dependant.call in _DECLARED:
        yield _DECLARED[dependant.call]
    for sub in dependant.dependencies:
        yield from _declared(sub)


def _error(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": PROBLEM_STATUSES.get(status, "Error")}
    if status in STATUS_HEADERS:
        response["headers"] = {
            name: {"$ref": f"#/components/headers/{name}"} for name in STATUS_HEADERS[status]
        }
    return response


def _add_headers(response: dict[str, Any], names: Iterable[str]) -> None:
    for name in names:
        response.setdefault("headers", {})[name] = {"$ref": f"#/components/headers/{name}"}


def document_answers(
    schema: dict[str, Any], routes: Iterable[BaseRoute], *, prefixes: tuple[str, ...]
) -> None:
    """Adds to ``schema`` (the app's OpenAPI document) what each route can answer."""
    schema.setdefault("components", {}).setdefault("headers", {}).update(HEADERS)
    paths = schema.get("paths", {})
    for route in iter_route_contexts(list(routes)):
        path = route.path
        dependant = getattr(route, "dependant", None)
        if not path or not path.startswith(prefixes) or not isinstance(dependant, Dependant):
            continue
        declared = list(_declared(dependant))
        for method in route.methods or ():
            operation = paths.get(path, {}).get(method.lower())
            if operation is not None:
                _document_operation(operation, method.lower(), declared)


def _document_operation(operation: dict[str, Any], method: str, declared: list[Answers]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    statuses = [status for answers in declared for status in answers.statuses]
    if "requestBody" in operation:
        statuses += BODY_STATUSES
    if method in UNSAFE_METHODS:
        statuses.append(409)
    if method == "post":
        statuses.append(422)
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == "Idempotency-Key" for p in parameters):
            parameters.append(dict(IDEMPOTENCY_KEY_PARAMETER))
    for status in statuses:
        responses.setdefault(str(status), _error(status))
        if status in STATUS_HEADERS:
            _add_headers(responses[str(status)], STATUS_HEADERS[status])
    required = {name.lower() for answers in declared for name in answers.required_headers}
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "header" and parameter["name"].lower() in required:
            parameter["required"] = True
            parameter.get("schema", {}).pop("anyOf", None)
            parameter.setdefault("schema", {})["type"] = "string"
            parameter["schema"].pop("default", None)
    for code, response in responses.items():
        if not code.startswith("2"):
            continue
        _add_headers(response, (h for answers in declared for h in answers.success_headers))
        if code == "201":
            _add_headers(response, (h for answers in declared for h in answers.created_headers))
        if method == "post":
            _add_headers(response, ("Idempotent-Replayed",))
