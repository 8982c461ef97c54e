"""The gateway app: factory and lifespan."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.access import SERVICE_PERMISSIONS
from gateway.api_clients.router import router as api_clients_router
from gateway.auth import ApiClientKeys, Authenticator, PersonRoles
from gateway.config import GatewaySettings
from gateway.db import audit_trail, idempotency_keys
from gateway.edge import GatewayEdgeMiddleware, refusal, trusted_networks
from gateway.events.directory import TrainingHints
from gateway.events.intake import Outgoing
from gateway.events.mail import Mailer
from gateway.events.router import IntakeShortcut
from gateway.events.router import internal_router as events_intake_router
from gateway.events.router import router as notifications_router
from gateway.events.senders import Senders
from gateway.health import upstream_checks
from gateway.oidc import JwksCache, OidcVerifier
from gateway.openapi import MergedOpenApi, OpenApiMiddleware
from gateway.privacy.erasure import Eraser
from gateway.privacy.exports import Exporter
from gateway.privacy.router import router as privacy_router
from gateway.proxy import API_PREFIX, HttpxUpstream, ProxyMiddleware, Upstream
from gateway.relay import HttpUpstream
from gateway.resilience import CircuitBreaker, RateLimiter
from gateway.router import PERSON_PREFIX, PersonLookupShortcut, router
from gateway.scim.router import PREFIX as SCIM_PREFIX
from gateway.scim.router import ScimAccess, create_scim_app
from gateway.webhooks.delivery import WebhookSender
from gateway.webhooks.router import router as webhooks_router
from kit.crypto import install
from kit.db import Database
from kit.identity import GATEWAY_AUDIENCE, InternalTokenSigner, InternalTokenVerifier
from kit.jobs import Loop
from kit.outbox import INTAKE_PATH
from kit.runtime import (
    KitApp,
    build_chain,
    create_base_app,
    database_runtime,
    edge_middleware,
    tune_gc,
)

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"

__all__ = ["ALEMBIC_INI", "SERVICE_PERMISSIONS", "create_app"]

# Headers a browser front end sends and may read (CORS).
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "Idempotency-Key",
    "X-Request-ID",
]
CORS_EXPOSED_HEADERS = ["ETag", "Location", "Retry-After", "X-Request-ID", "Idempotent-Replayed"]


class GatewayApp(KitApp):
    """Requests for a service go straight to a short chain of the same middleware (request
    id, logs and metrics, body limit, CORS, authentication, rate limit, proxy), skipping
    FastAPI's own layers and the router, which add nothing to a forwarded request (about
    7 % of the gateway's CPU per proxied request, measured side by side; README, "Proxy
    overhead"). A bare ``/api/v1/coaching`` takes the long way, through the same proxy."""

    proxied_prefixes: tuple[str, ...] = ()
    proxied: ASGIApp | None = None
    # Exact paths with a short path of their own (the internal event intake).
    shortcuts: Mapping[str, ASGIApp] = {}
    # Path prefixes with one (a service's person lookup); it sends what it does not take
    # the long way.
    prefix_shortcuts: tuple[tuple[str, ASGIApp], ...] = ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.proxied is not None
            and scope["type"] == "http"
            and scope["path"].startswith(self.proxied_prefixes)
        ):
            await self.proxied(scope, receive, send)
            return
        path = scope.get("path", "")
        shortcut = self.shortcuts.get(path)
        if shortcut is None:
            shortcut = next(
                (app for prefix, app in self.prefix_shortcuts if path.startswith(prefix)), None
            )
        if shortcut is not None:
            await shortcut(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


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
            upstreams[name] = HttpUpstream(
                name,
                url,
                connect_timeout=settings.upstream_connect_timeout_seconds,
                read_timeout=settings.upstream_read_timeout_seconds,
                pool_size=settings.upstream_pool_size,
                idle_seconds=settings.upstream_idle_seconds,
            )
    return upstreams


def build_oidc(settings: GatewaySettings, client: httpx.AsyncClient) -> OidcVerifier | None:
    issuer, audience, jwks_url = (
        settings.oidc_issuer,
        settings.oidc_audience,
        settings.oidc_jwks_url,
    )
    if issuer is None or audience is None or jwks_url is None:
        return None
    return OidcVerifier(
        issuer=issuer,
        audience=audience,
        algorithms=settings.oidc_algorithms,
        person_claim=settings.oidc_person_claim,
        jwks=JwksCache(
            client,
            jwks_url,
            max_age_seconds=settings.oidc_jwks_cache_seconds,
            min_refresh_seconds=settings.oidc_jwks_min_refresh_seconds,
        ),
    )


def build_authenticator(
    settings: GatewaySettings, database: Database, oidc: OidcVerifier | None
) -> Authenticator:
    return Authenticator(
        settings=settings,
        people=PersonRoles(
            database,
            group_roles=settings.group_roles,
            ttl=settings.principal_cache_seconds,
            refresh_ahead=settings.principal_cache_refresh_ahead,
        ),
        api_clients=ApiClientKeys(
            database,
            ttl=settings.principal_cache_seconds,
            refresh_ahead=settings.principal_cache_refresh_ahead,
        ),
        service_verifier=InternalTokenVerifier(
            settings.verification_secrets(), audience=GATEWAY_AUDIENCE
        ),
        oidc=oidc,
    )


def create_app(
    settings: GatewaySettings | None = None,
    *,
    upstream_transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    oidc_transport: httpx.AsyncBaseTransport | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """``upstream_transports`` lets tests wire upstreams to services' ASGI apps, and
    ``oidc_transport`` the identity provider's JWKS endpoint to a local one, and
    ``webhook_transport`` webhook deliveries to an in-process receiver."""
    settings = settings or GatewaySettings()
    # Exports are encrypted at rest with the gateway's key ring (kit.crypto).
    install("gateway", settings.keyring())
    signer = InternalTokenSigner(settings.internal_token_secret.get_secret_value())
    scim_app = create_scim_app(public_url=settings.public_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            database_runtime(
                app, settings, alembic_ini=ALEMBIC_INI, idempotency_table=idempotency_keys
            ) as database,
            httpx.AsyncClient(transport=oidc_transport, timeout=5.0) as idp_client,
            contextlib.AsyncExitStack() as stack,
        ):
            upstreams = build_upstreams(settings, upstream_transports)
            for upstream in upstreams.values():
                await upstream.start()
                stack.push_async_callback(upstream.close)
            app.state.upstreams = upstreams
            app.state.breakers = {
                name: CircuitBreaker(
                    name,
                    failure_threshold=settings.breaker_failure_threshold,
                    reset_seconds=settings.breaker_reset_seconds,
                )
                for name in upstreams
            }
            authenticator = build_authenticator(
                settings, database, build_oidc(settings, idp_client)
            )
            app.state.authenticator = authenticator
            mailer = Mailer(database, settings)
            outgoing = Outgoing(
                public_url=settings.public_url,
                group_roles=settings.group_roles,
                email=settings.email_enabled,
                mandatory_email_kinds=frozenset(settings.mandatory_email_kinds),
            )
            webhook_sender = WebhookSender(
                database, settings, outgoing=outgoing, transport=webhook_transport
            )
            stack.push_async_callback(webhook_sender.close)
            senders = Senders(
                database,
                mailer,
                webhook_sender,
                poll_seconds=settings.sender_poll_seconds,
                linger_seconds=settings.sender_linger_seconds,
            )
            outgoing.on_commit.append(senders.loop.wake)
            outgoing.mail_handover = mailer.handover
            outgoing.webhook_handover = webhook_sender.handover
            app.state.mailer, app.state.webhook_sender = mailer, webhook_sender
            app.state.senders = senders
            app.state.outgoing = scim_app.state.outgoing = outgoing
            await stack.enter_async_context(senders.running(enabled=settings.background_senders))
            hints = TrainingHints(upstreams["training"], signer)
            outgoing.on_directory_change.append(hints.changed)
            app.state.training_hints = hints
            await stack.enter_async_context(hints.loop.running(enabled=settings.background_senders))
            app.state.anonymous_limiter = (
                RateLimiter(
                    rate=settings.unauthenticated_rate_per_second,
                    burst=settings.unauthenticated_burst,
                )
                if settings.unauthenticated_rate_per_second > 0
                else None
            )
            app.state.rate_limiter = (
                RateLimiter(rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst)
                if settings.rate_limit_per_second > 0
                else None
            )
            app.state.scim_rate_limiter = (
                RateLimiter(
                    rate=settings.scim_rate_limit_per_second,
                    burst=settings.scim_rate_limit_burst,
                )
                if settings.scim_rate_limit_per_second > 0
                else None
            )
            scim_app.state.database = database
            scim_app.state.group_roles = settings.group_roles
            scim_app.state.forget_person = authenticator.forget_person
            app.state.readiness_checks.update(upstream_checks(upstreams, app.state.breakers))
            app.state.openapi = MergedOpenApi(
                own=app.openapi,
                upstreams=lambda: app.state.upstreams,
                signer=signer,
                refresh_seconds=settings.openapi_refresh_seconds,
                public_url=settings.public_url,
            )
            await app.state.openapi.document()  # fetched at start; missing ones later
            eraser = Eraser(
                database,
                upstreams=upstreams,
                signer=signer,
                audit=audit_trail,
                lease=dt.timedelta(seconds=settings.erasure_lease_seconds),
            )
            app.state.eraser = eraser
            # Erasures cut short by a crash are taken over here when their lease ends.
            erasures = Loop("privacy-erasures", eraser.run_due, poll_seconds=30.0)
            await stack.enter_async_context(erasures.running(enabled=settings.privacy_worker))
            exporter = Exporter(
                database,
                upstreams=upstreams,
                signer=signer,
                ttl=dt.timedelta(hours=settings.export_ttl_hours),
                lease=dt.timedelta(seconds=settings.export_lease_seconds),
            )
            app.state.exporter = exporter
            # Likewise exports: one left unfinished by a dead gateway goes on from its parts.
            exporter_loop = Loop("privacy-exports", exporter.run_due, poll_seconds=30.0)
            await stack.enter_async_context(exporter_loop.running(enabled=settings.privacy_worker))
            tune_gc(settings.tune_gc)
            yield

    cors = (
        [
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                allow_headers=CORS_REQUEST_HEADERS,
                expose_headers=CORS_EXPOSED_HEADERS,
                allow_credentials=False,  # bearer tokens only, never cookies
                max_age=600,
            )
        ]
        if settings.cors_origins
        else []
    )
    app: GatewayApp  # assigned below; the middleware looks up its state per call
    edge = [
        *cors,
        Middleware(
            GatewayEdgeMiddleware,
            authenticator=lambda: app.state.authenticator,
            anonymous_limiter=lambda: app.state.anonymous_limiter,
            limiter=lambda: app.state.rate_limiter,
            scim_limiter=lambda: app.state.scim_rate_limiter,
            trusted_proxies=trusted_networks(settings.trusted_proxies),
        ),
    ]
    proxy = Middleware(
        ProxyMiddleware,
        upstreams=lambda: app.state.upstreams,
        breakers=lambda: app.state.breakers,
        signer=signer,
        service_permissions=SERVICE_PERMISSIONS,
        connect_retries=settings.upstream_connect_retries,
    )
    base = create_base_app(
        name="gateway",
        title="Social media policy program API",
        description="One base URL for the employee portal, the coach console and the "
        "HR/incident console: the directory, training, coaching and incidents. "
        "Identity providers provision people over SCIM 2.0 at `/scim/v2`, described in its own "
        "document, `/scim/v2/openapi.json` (with an API client secret that has the `scim` scope).",
        settings=settings,
        lifespan=lifespan,
        docs=True,
        middleware=[*edge, Middleware(OpenApiMiddleware, merged=lambda: app.state.openapi), proxy],
        app_class=GatewayApp,
        refuse=refusal,
    )
    assert isinstance(base, GatewayApp)
    app = base
    app.proxied_prefixes = tuple(f"{API_PREFIX}{name}/" for name in settings.upstream_urls())
    # Its inner app is reached only for a path that names no upstream: the full app.
    app.proxied = build_chain(
        super(GatewayApp, app).__call__,
        [*edge_middleware("gateway", settings, refuse=refusal), *edge, proxy],
    )
    full = super(GatewayApp, app).__call__
    app.shortcuts = {INTAKE_PATH: IntakeShortcut(full=full, state=app.state, settings=settings)}
    app.prefix_shortcuts = (
        (PERSON_PREFIX, PersonLookupShortcut(full=full, state=app.state, settings=settings)),
    )
    app.state.settings = settings
    app.state.audit_trail = audit_trail
    app.state.signer = signer
    app.state.group_roles = settings.group_roles
    app.include_router(router)
    app.include_router(privacy_router)
    app.include_router(api_clients_router)
    app.include_router(notifications_router)
    app.include_router(webhooks_router)
    app.include_router(events_intake_router)
    app.mount(SCIM_PREFIX, ScimAccess(scim_app))
    return app
