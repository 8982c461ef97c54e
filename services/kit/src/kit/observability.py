"""Request ids, JSON log lines, the access log, the request metrics and the last-resort 500.

Pure ASGI on purpose (kit.edge): it wraps every request, including the gateway's proxied
ones, so it must cost a few function calls, not a task or a copied body.
"""

from __future__ import annotations

import logging
import random
import re
import sys
import time

from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.context import current_request_id, set_request_id
from kit.errors import DatabaseBusy, domain_error_response, problem_response
from kit.metrics import observe_request

REQUEST_ID_HEADER = b"x-request-id"
# Accept a caller's id only if it is short and plain, so it cannot forge log lines.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

# Libraries whose INFO lines carry URLs (and so personal data); see configure_logging.
QUIET_LIBRARY_LOGGERS = ("httpx", "httpcore")

access_logger = logging.getLogger("kit.access")
error_logger = logging.getLogger("kit.errors")


def new_request_id() -> str:
    # 128 random bits, as a uuid4's hex, without its system call for each request: a
    # request id names a request in the logs, it is not a secret.
    return f"{random.getrandbits(128):032x}"


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            return request_id_or_new(value)
    return new_request_id()


def request_id_or_new(value: bytes | None) -> str:
    """The caller's ``X-Request-ID`` when it is a plain one, else a new id."""
    if value is not None:
        candidate = value.decode("latin-1")
        if _VALID_REQUEST_ID.match(candidate):
            return candidate
    return new_request_id()


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/items/{id}``), never the raw path with ids."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return str(scope.get("route_label", "unmatched"))


def pool_exhausted(error: BaseException, depth: int = 0) -> bool:
    """Whether ``error`` is, or was caused by, SQLAlchemy's pool checkout timing out (also
    inside an exception group, or re-raised by the code that was waiting for it)."""
    if isinstance(error, PoolTimeout):
        return True
    if depth >= 8:
        return False
    if isinstance(error, BaseExceptionGroup):
        return any(pool_exhausted(inner, depth + 1) for inner in error.exceptions)
    return any(
        pool_exhausted(linked, depth + 1)
        for linked in (error.__cause__, error.__context__)
        if linked is not None
    )


async def in_request_context(
    app_name: str, app: ASGIApp, scope: Scope, receive: Receive, send: Send, request_id: str
) -> None:
    """Runs ``app`` as request ``request_id``: the id goes into the log context and out
    in ``X-Request-ID``; the request gets one access line and is counted and timed
    (kit.metrics); an unhandled exception becomes a 500 problem that carries the id but
    no stack trace. kit.edge calls it first for every request.

    The one exception that is not a bug: no pooled database connection came free in time
    (wherever it happened, a route or a middleware such as the gateway's authentication).
    That is load, so it is a 503 with ``Retry-After`` and a warning, not a 500."""
    set_request_id(request_id)
    scope.setdefault("state", {})["request_id"] = request_id
    header = (REQUEST_ID_HEADER, request_id.encode("latin-1"))
    status = 500
    started = False
    start = time.perf_counter()

    async def send_with_id(message: Message) -> None:
        nonlocal status, started
        if message["type"] == "http.response.start":
            started = True
            status = message["status"]
            message["headers"] = [*message.get("headers", ()), header]
        await send(message)

    try:
        await app(scope, receive, send_with_id)
    except Exception as error:
        response = _last_resort(error, scope)
        if started:
            raise
        await response(scope, receive, send_with_id)
    finally:
        seconds = time.perf_counter() - start
        method = scope["method"]
        route = route_template(scope)
        observe_request(app_name, method, route, status, seconds)
        if access_logger.isEnabledFor(logging.INFO):
            # The record logger.info would make, without its walk up the stack for the
            # caller's file and line (a tenth of the line's cost), which no log shows.
            extra = {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            }
            access_logger.handle(
                access_logger.makeRecord(
                    access_logger.name, logging.INFO, __file__, 0, "request", (), None, extra=extra
                )
            )


def _last_resort(error: Exception, scope: Scope) -> Response:
    """The answer to an exception no handler took, logged once: a 503 for an exhausted
    connection pool, else a 500 whose stack trace goes to the log only."""
    extra = {"route": route_template(scope)}
    if pool_exhausted(error):
        error_logger.warning("database pool exhausted", extra=extra)
        return domain_error_response(DatabaseBusy(), instance=scope.get("path"))
    error_logger.error("unhandled error", exc_info=error, extra=extra)
    return problem_response(
        status=500,
        detail="An unexpected error occurred. Quote the request id when reporting it.",
        instance=scope.get("path"),
    )


class _ContextFilter(logging.Filter):
    def __init__(self, app_name: str) -> None:
        super().__init__()
        self.app_name = app_name

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)  # uvicorn's ANSI-coloured duplicate
        record.app = self.app_name
        record.request_id = current_request_id()
        return True


def configure_logging(app_name: str, level: str = "INFO", *, access_log: bool = True) -> None:
    """JSON lines on stdout: time, level, app, request id, logger, message and extras."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(
            "{levelname}{app}{request_id}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",  # ISO 8601, UTC
        )
    )
    handler.addFilter(_ContextFilter(app_name))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Our middleware writes the access line (with route template and request id).
    logging.getLogger("uvicorn.access").disabled = True
    # httpx and httpcore log each outgoing request's URL at INFO: person ids in paths and
    # query strings (/people/{id}/history, ?id=...). Only their warnings get through.
    for name in QUIET_LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    access_logger.disabled = not access_log
