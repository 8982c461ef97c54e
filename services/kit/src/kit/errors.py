"""Problem details (RFC 9457) for every error, and the domain error tree.

Service code raises a :class:`DomainError` subclass; one handler renders it as
``application/problem+json``. Nothing below the router raises ``HTTPException``.

    DomainError                 400  bad-request
    ├── BadRequest              400  bad-request
    ├── Unauthorized            401  unauthorized
    ├── Forbidden               403  forbidden
    ├── NotFound                404  not-found
    ├── Conflict                409  conflict
    ├── RequestTimeout          408  request-timeout
    ├── PreconditionFailed      412  precondition-failed
    ├── PayloadTooLarge         413  payload-too-large
    ├── Unprocessable           422  unprocessable
    │   └── ValidationFailed    422  validation-failed (a field or parameter, outside
    │                                pydantic: ``errors`` names it)
    ├── PreconditionRequired    428  precondition-required
    ├── TooManyRequests         429  too-many-requests
    ├── BadGateway              502  bad-gateway
    ├── ServiceUnavailable      503  service-unavailable
    │   └── DatabaseBusy        503  database-busy (every pooled connection taken;
    │                                ``Retry-After``)
    └── GatewayTimeout          504  gateway-timeout

A service narrows these with its own subclasses (``class AttemptLimitReached(Conflict)``
with its own ``slug`` and ``title``) so front ends can switch on ``type``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import compile_path

from kit.context import current_request_id
from kit.fields import FieldInvalid

logger = logging.getLogger("kit.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:smp:problem:"


def problem_type(slug: str) -> str:
    """The stable ``type`` URI front ends switch on."""
    return f"{PROBLEM_TYPE_PREFIX}{slug}"


class DomainError(Exception):
    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        extensions: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = dict(extensions or {})
        self.headers = dict(headers or {})


class BadRequest(DomainError):
    pass


class Unauthorized(DomainError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class RequestTimeout(DomainError):
    status = 408
    slug = "request-timeout"
    title = "Request timeout"


class PreconditionFailed(DomainError):
    status = 412
    slug = "precondition-failed"
    title = "Precondition failed"


class PayloadTooLarge(DomainError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class Unprocessable(DomainError):
    status = 422
    slug = "unprocessable"
    title = "Request cannot be processed"


class ValidationFailed(Unprocessable):
    slug = "validation-failed"
    title = "Validation failed"


class PreconditionRequired(DomainError):
    status = 428
    slug = "precondition-required"
    title = "Precondition required"


class TooManyRequests(DomainError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"


class BadGateway(DomainError):
    status = 502
    slug = "bad-gateway"
    title = "Upstream unreachable"


class ServiceUnavailable(DomainError):
    status = 503
    slug = "service-unavailable"
    title = "Service unavailable"


class DatabaseBusy(ServiceUnavailable):
    """No pooled database connection came free in time: the app is overloaded for a
    moment, not broken, so the client is told when to try again."""

    slug = "database-busy"
    title = "Database busy"
    RETRY_AFTER_SECONDS: ClassVar[str] = "1"

    def __init__(self) -> None:
        super().__init__(
            "Every database connection is in use; retry in a moment.",
            headers={"Retry-After": self.RETRY_AFTER_SECONDS},
        )


class GatewayTimeout(DomainError):
    status = 504
    slug = "gateway-timeout"
    title = "Upstream timed out"


class FieldError(BaseModel):
    detail: str
    pointer: str | None = Field(
        default=None, description="JSON Pointer (RFC 6901, as a URI fragment) into the body."
    )
    parameter: str | None = Field(default=None, description="Query, path or header parameter.")


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error response."""

    type: str = Field(examples=[problem_type("not-found")])
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem_response(
    *,
    status: int,
    detail: str,
    slug: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    extensions: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ProblemResponse:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": problem_type(slug or phrase.lower().replace(" ", "-").replace("'", "")),
        "title": title or phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        "request_id": current_request_id(),
    }
    body.update(extensions or {})
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def domain_error_response(error: DomainError, *, instance: str | None) -> ProblemResponse:
    return problem_response(
        status=error.status,
        detail=error.detail,
        slug=error.slug,
        title=error.title,
        instance=instance,
        extensions=error.extensions,
        headers=error.headers,
    )


def _pointer(path: Sequence[Any]) -> str:
    """RFC 6901 as a URI fragment: ``#`` is the whole body, ``#/rules/0/position`` a field."""
    return "#" + "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _sentence(message: str) -> str:
    # pydantic prefixes a validator's own message; the client needs only the message.
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def _validation_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for error in errors:
        location, *path = error.get("loc", ()) or ("body",)
        message = _sentence(str(error.get("msg", "is not valid")))
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, FieldInvalid):
            path = [*path, cause.field]
            message = cause.message
        if location == "body":
            field = ".".join(str(part) for part in path)
            detail = f"{field}: {message}" if field else f"The request body: {message}"
            out.append({"detail": detail, "pointer": _pointer(path)})
        else:
            name = str(path[0]) if path else str(location)
            out.append({"detail": f"{location} parameter {name!r}: {message}", "parameter": name})
    return out


async def _on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return domain_error_response(exc, instance=request.url.path)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return validation_error_response(list(exc.errors()), instance=request.url.path)


def validation_error_response(errors: Sequence[Any], *, instance: str | None) -> ProblemResponse:
    """The answer to a request that failed validation (errors as pydantic and FastAPI list
    them, ``loc`` starting with where: ``body``, ``query``...): a 400 for a body that is
    not JSON, else a 422 naming each field."""
    if any(error.get("type") == "json_invalid" for error in errors):
        return problem_response(
            status=400,
            slug="malformed-json",
            title="Malformed JSON",
            detail="The request body is not valid JSON: "
            + str(errors[0].get("ctx", {}).get("error", "")),
            instance=instance,
        )
    fields = _validation_errors(errors)
    return problem_response(
        status=422,
        slug="validation-failed",
        title="Validation failed",
        detail="; ".join(field["detail"] for field in fields),
        instance=instance,
        extensions={"errors": fields},
    )


def _allowed_methods(request: Request) -> list[str]:
    """Every method any route serves on this path (the router names only the first
    route's), read from the app's OpenAPI paths."""
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        regex, _, _ = compile_path(template)
        if regex.match(request.url.path):
            methods.update(method.upper() for method in operations if method.isalpha())
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, DomainError):
        # The framework wraps errors raised while reading the body (such as our body
        # size limit) in a generic 400; the cause is the real answer.
        return domain_error_response(exc.__cause__, instance=request.url.path)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        detail = f"No resource at {request.method} {request.url.path}."
    elif exc.status_code == 405:
        allowed = ", ".join(_allowed_methods(request))
        headers["Allow"] = allowed
        detail = (
            f"Method {request.method} is not allowed on {request.url.path}; allowed: {allowed}."
        )
    else:
        detail = str(exc.detail)
    return problem_response(
        status=exc.status_code, detail=detail, instance=request.url.path, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Render every error the framework or our code raises as problem+json.

    Unhandled exceptions are turned into a 500 problem by the request-context middleware,
    which knows the request id and logs the stack trace (never sent to the client).
    """
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)


PROBLEM_STATUSES: dict[int, str] = {
    400: "Malformed request (for example invalid JSON or an unknown cursor).",
    401: "Missing or invalid credentials.",
    403: "The caller may not do this.",
    404: "No such resource, or the caller may not see it.",
    409: "Conflicts with the current state.",
    412: "`If-Match` does not match the current `ETag`.",
    413: "Request body too large.",
    422: "Validation failed; `errors` lists each field.",
    428: "`If-Match` is required for this update.",
    429: "Rate limit exceeded; see `Retry-After`.",
    500: "Unexpected error; quote `request_id` when reporting it.",
    503: "Overloaded for a moment (for example every database connection in use) or a "
    "service it needs is away; retry after `Retry-After` seconds.",
}
