"""Assembling an app: middleware, error handlers, OpenAPI touches and the lifespan pieces
every app shares (database, idempotency store, readiness checks, GC tuning)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.telemetry import TelemetryConfig
from sqlalchemy import Table
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp

from kit.clients import gateway_client
from kit.concurrency import STALE_DATA_ERRORS, on_stale_data
from kit.db import Database
from kit.edge import EdgeMiddleware, RoutedMiddleware
from kit.errors import PROBLEM_MEDIA_TYPE, PROBLEM_STATUSES, Problem, install_error_handlers
from kit.health import database_checks
from kit.health import router as health_router
from kit.idempotency import IdempotencyStore
from kit.identity import InternalTokenSigner, InternalTokenVerifier
from kit.jobs import Backoff
from kit.limits import Refuse, problem_refusal
from kit.metrics import router as metrics_router
from kit.migrations import head_revisions
from kit.outbox import Outbox, OutboxDrainer, Send, send_to_gateway
from kit.raises import HEADERS, STATUS_HEADERS, document_answers
from kit.routing import IndexedRouter
from kit.settings import AppSettings

logger = logging.getLogger("kit.runtime")

PUBLIC_PATHS = ("/healthz", "/readyz", "/metrics")
IDEMPOTENCY_PURGE_SECONDS = 600
# Measured on a primary-key read: full collections of the start-up heap every few hundred
# milliseconds dominated p99. Freezing that heap and collecting gen 0 less often cut p99
# from 60-78 ms to 8-12 ms and raised throughput by a third.
GC_GEN0_THRESHOLD = 50_000
# FastAPI's own OpenTelemetry layer stays off: nothing here installs an OpenTelemetry SDK,
# and with it on, every request first asked the global providers whether one was
# configured (about 4 % of a primary-key read's CPU). Our request metrics and JSON logs
# are kit's (kit.metrics, kit.observability).
NO_FASTAPI_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


class KitApp(FastAPI):
    """FastAPI without the three layers it puts in front of the app's middleware, which
    do nothing here but cost a coroutine each per request: ServerErrorMiddleware (kit.edge
    answers an unhandled exception first and re-raises only one that came after the
    response started, which ServerErrorMiddleware re-raises as is), the exception
    telemetry (off, NO_FASTAPI_TELEMETRY) and the app-wide body limit (unset; kit.limits
    is the limit). With a 500 handler, debug or a body limit set, FastAPI's stack stands.
    The router is reached through kit.routing.IndexedRouter."""

    def build_middleware_stack(self) -> ASGIApp:
        handlers = dict(self.exception_handlers)
        if self.debug or self.max_body_size is not None or {500, Exception} & handlers.keys():
            return super().build_middleware_stack()
        router = IndexedRouter(self.router)
        inner = ExceptionMiddleware(AsyncExitStackMiddleware(router), handlers=handlers)
        return build_chain(inner, self.user_middleware)


def tune_gc(enabled: bool) -> None:
    """Call once start-up is done: the objects alive now live as long as the process."""
    if not enabled:
        return
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


@asynccontextmanager
async def database_runtime(
    app: FastAPI, settings: AppSettings, *, alembic_ini: Path | None, idempotency_table: Table
) -> AsyncIterator[Database]:
    """Owns the app's database for its lifetime, and everything kit keeps in it."""
    database = Database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    store = IdempotencyStore(database, idempotency_table)
    app.state.database = database
    app.state.idempotency = store
    heads = head_revisions(alembic_ini) if alembic_ini is not None else None
    app.state.readiness_checks = database_checks(database, heads)
    janitor = (
        asyncio.create_task(_purge_idempotency_keys(store), name="idempotency-janitor")
        if settings.idempotency_janitor
        else None
    )
    try:
        yield database
    finally:
        if janitor is not None:
            janitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await janitor
        await database.dispose()


@asynccontextmanager
async def gateway_runtime(
    app: FastAPI,
    settings: AppSettings,
    *,
    gateway_url: str,
    service_name: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """Owns the one pooled client through which this service calls the others (via the
    gateway, as ``service:<service_name>``); routes get it from ``app.state.gateway``.

    ``transport`` lets tests wire the client to the gateway's ASGI app in-process.
    """
    signer = InternalTokenSigner(settings.internal_token_secret.get_secret_value())
    async with gateway_client(
        base_url=gateway_url, signer=signer, service_name=service_name, transport=transport
    ) as gateway:
        app.state.gateway = gateway
        yield gateway


@asynccontextmanager
async def outbox_runtime(
    app: FastAPI, settings: AppSettings, *, database: Database, outbox: Outbox, send: Send
) -> AsyncIterator[OutboxDrainer]:
    """Owns the app's outbox drainer (``app.state.outbox_drainer``) for its lifetime."""
    outbox.enabled = settings.events_enabled
    drainer = OutboxDrainer(
        database,
        outbox,
        send=send,
        backoff=Backoff(settings.outbox_retry_base_seconds, settings.outbox_retry_max_seconds),
        poll_seconds=settings.outbox_poll_seconds,
        linger_seconds=settings.outbox_linger_seconds,
    )
    app.state.outbox_drainer = drainer
    async with drainer.running(enabled=settings.outbox_drainer):
        yield drainer


@asynccontextmanager
async def service_runtime(
    app: FastAPI,
    settings: AppSettings,
    *,
    service_name: str,
    alembic_ini: Path,
    idempotency_table: Table,
    gateway_url: str,
    outbox: Outbox,
    gateway_transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[tuple[Database, httpx.AsyncClient]]:
    """What every service's lifespan owns: its database (with kit's tables and checks),
    its one pooled client to the other services through the gateway, and the drainer that
    hands its events to the gateway."""
    async with (
        database_runtime(
            app, settings, alembic_ini=alembic_ini, idempotency_table=idempotency_table
        ) as database,
        gateway_runtime(
            app,
            settings,
            gateway_url=gateway_url,
            service_name=service_name,
            transport=gateway_transport,
        ) as gateway,
        outbox_runtime(
            app, settings, database=database, outbox=outbox, send=send_to_gateway(gateway)
        ),
    ):
        yield database, gateway


async def _purge_idempotency_keys(store: IdempotencyStore) -> None:
    while True:
        await asyncio.sleep(IDEMPOTENCY_PURGE_SECONDS)
        try:
            await store.purge_expired()
        except Exception:  # a failed purge is retried next round; it must not stop the app
            logger.exception("purging expired idempotency keys failed")


def edge_middleware(
    name: str,
    settings: AppSettings,
    *,
    refuse: Refuse = problem_refusal,
    verifier: InternalTokenVerifier | None = None,
    owner: FastAPI | None = None,
) -> list[Middleware]:
    """What every request of every app passes first (kit.edge): its request id, log line
    and metrics, the body's size and time limits, the check for characters the database
    cannot store in the path and query (``refuse`` renders their refusals), a service's
    internal token (``verifier``), and with ``owner`` the route shape and idempotency
    keys too."""
    return [
        Middleware(
            EdgeMiddleware,
            app_name=name,
            max_bytes=settings.max_body_bytes,
            timeout_seconds=settings.body_timeout_seconds,
            refuse=refuse,
            verifier=verifier,
            public_paths=PUBLIC_PATHS,
            owner=owner,
        )
    ]


def build_chain(app: ASGIApp, middleware: Sequence[Middleware]) -> ASGIApp:
    """``app`` wrapped in ``middleware``, outermost first, as FastAPI would wrap it."""
    for cls, args, kwargs in reversed(middleware):
        app = cls(app, *args, **kwargs)
    return app


def create_base_app(
    *,
    name: str,
    title: str,
    description: str,
    settings: AppSettings,
    lifespan: Lifespan,
    middleware: Sequence[Middleware] = (),
    version: str = "1.0.0",
    docs: bool = False,
    app_class: type[FastAPI] = KitApp,
    refuse: Refuse = problem_refusal,
    verifier: InternalTokenVerifier | None = None,
) -> FastAPI:
    """An app with what every app shares: request ids and JSON logs, request metrics and
    ``/metrics``, the body limit, problem+json errors, idempotency keys, health routes and
    the OpenAPI touches.
    ``middleware`` (outermost first) runs between the body limit and the route shape;
    ``verifier`` makes it a service, reached only with an internal token."""
    app = app_class(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        telemetry=NO_FASTAPI_TELEMETRY,
    )
    install_error_handlers(app)
    for error in STALE_DATA_ERRORS:
        app.add_exception_handler(error, on_stale_data)
    app.router.redirect_slashes = False  # kit.edge answers, on the public path
    app.include_router(health_router)
    app.include_router(metrics_router)
    # With nothing of the app's own between them, one layer does all of kit's steps.
    routed = [] if not middleware else [Middleware(RoutedMiddleware, owner=app)]
    edge = edge_middleware(
        name, settings, refuse=refuse, verifier=verifier, owner=None if middleware else app
    )
    # add_middleware wraps what is there: the last added runs first.
    for cls, args, kwargs in reversed([*edge, *middleware, *routed]):
        app.add_middleware(cls, *args, **kwargs)
    install_problem_openapi(app)
    return app


def create_service_app(
    *,
    name: str,
    title: str,
    description: str,
    settings: AppSettings,
    lifespan: Lifespan,
    version: str = "1.0.0",
) -> FastAPI:
    """A service app: like the base app, and reachable only with an internal token whose
    audience is this service."""
    verifier = InternalTokenVerifier(settings.verification_secrets(), audience=name)
    return create_base_app(
        name=name,
        title=title,
        description=description,
        settings=settings,
        lifespan=lifespan,
        version=version,
        verifier=verifier,
    )


def install_problem_openapi(app: FastAPI, *, api_prefixes: Iterable[str] = ("/api/",)) -> None:
    """Every API operation documents its security and its problem+json error responses,
    so a client generated from the document knows the error shape."""
    prefixes = tuple(api_prefixes)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        document_answers(schema, app.routes, prefixes=prefixes)
        add_problem_responses(schema, prefixes=prefixes)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def add_problem_responses(schema: dict[str, Any], *, prefixes: tuple[str, ...]) -> None:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components.setdefault("headers", {}).update(HEADERS)
    components.setdefault("securitySchemes", {})["bearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    problem_content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if path.startswith(prefixes):
                operation.setdefault("security", [{"bearerAuth": []}])
                # 404: the resource, or one the request names (a module to tag, the
                # published policy), does not exist or is not the caller's to see.
                # 503: any request that needs the database when its pool is exhausted.
                defaults = [400, 401, 403, 404, 422, 429, 500, 503]
                for status in defaults:
                    responses.setdefault(str(status), {"description": PROBLEM_STATUSES[status]})
            for status, names in STATUS_HEADERS.items():
                if str(status) in responses:
                    responses[str(status)].setdefault("headers", {}).update(
                        {name: {"$ref": f"#/components/headers/{name}"} for name in names}
                    )
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = problem_content
                    if response.get("description") in (None, "", "Validation Error"):
                        response["description"] = PROBLEM_STATUSES.get(int(status), "Error")
