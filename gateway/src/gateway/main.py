"""The gateway app: factory and lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from starlette.middleware import Middleware

from gateway.access import SERVICE_PERMISSIONS
from gateway.auth import AuthenticationMiddleware, Authenticator, PersonRoles
from gateway.config import GatewaySettings
from gateway.db import idempotency_keys
from gateway.proxy import AiohttpUpstream, HttpxUpstream, ProxyMiddleware, Upstream
from gateway.router import router
from kit.identity import GATEWAY_AUDIENCE, InternalTokenSigner, InternalTokenVerifier
from kit.runtime import create_base_app, database_runtime, tune_gc

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def build_upstreams(
    settings: GatewaySettings, transports: Mapping[str, httpx.AsyncBaseTransport] | None
) -> dict[str, Upstream]:
    upstreams: dict[str, Upstream] = {}
    for name, url in settings.upstream_urls().items():
        if transports and name in transports:
            upstreams[name] = HttpxUpstream(
                name,
                url,
                transport=transports[name],
                timeout=httpx.Timeout(
                    settings.upstream_read_timeout_seconds,
                    connect=settings.upstream_connect_timeout_seconds,
                ),
            )
        else:
            upstreams[name] = AiohttpUpstream(
                name,
                url,
                connect_timeout=settings.upstream_connect_timeout_seconds,
                read_timeout=settings.upstream_read_timeout_seconds,
                pool_size=settings.upstream_pool_size,
            )
    return upstreams


def create_app(
    settings: GatewaySettings | None = None,
    *,
    upstream_transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """``upstream_transports`` lets tests wire upstreams to services' ASGI apps."""
    settings = settings or GatewaySettings()
    secret = settings.internal_token_secret.get_secret_value()
    signer = InternalTokenSigner(secret)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            database_runtime(
                app, settings, alembic_ini=ALEMBIC_INI, idempotency_table=idempotency_keys
            ) as database,
            contextlib.AsyncExitStack() as stack,
        ):
            upstreams = build_upstreams(settings, upstream_transports)
            for upstream in upstreams.values():
                await upstream.start()
                stack.push_async_callback(upstream.close)
            app.state.upstreams = upstreams
            app.state.authenticator = Authenticator(
                settings=settings,
                people=PersonRoles(
                    database,
                    group_roles=settings.group_roles,
                    ttl=settings.principal_cache_seconds,
                ),
                service_verifier=InternalTokenVerifier(
                    settings.verification_secrets(), audience=GATEWAY_AUDIENCE
                ),
            )
            tune_gc(settings.tune_gc)
            yield

    app: FastAPI = create_base_app(
        name="gateway",
        title="Social media policy program API",
        description="One base URL for the employee portal, the coach console and the "
        "HR/incident console: the directory, training, coaching and incidents.",
        settings=settings,
        lifespan=lifespan,
        docs=True,
        middleware=[
            Middleware(AuthenticationMiddleware, authenticator=lambda: app.state.authenticator),
            Middleware(
                ProxyMiddleware,
                upstreams=lambda: app.state.upstreams,
                signer=signer,
                service_permissions=SERVICE_PERMISSIONS,
            ),
        ],
    )
    app.include_router(router)
    return app
