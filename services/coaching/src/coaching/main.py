"""The coaching app: factory and lifespan."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from coaching.config import CoachingSettings
from coaching.db import audit_trail, idempotency_keys, outbox, scheduled_runs
from coaching.retention import rules as retention_rules
from coaching.router import router
from coaching.upstream import legal_holds
from kit.crypto import install
from kit.retention import RetentionJob
from kit.runtime import create_service_app, service_runtime, tune_gc

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def create_app(
    settings: CoachingSettings | None = None,
    *,
    gateway_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """``gateway_transport`` lets tests wire calls to the gateway's ASGI app in-process."""
    settings = settings or CoachingSettings()
    # Notes and texts are encrypted at rest with this app's key ring (kit.crypto).
    install("coaching", settings.keyring())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            app,
            settings,
            service_name="coaching",
            alembic_ini=ALEMBIC_INI,
            idempotency_table=idempotency_keys,
            gateway_url=settings.gateway_url,
            outbox=outbox,
            gateway_transport=gateway_transport,
        ) as (database, gateway):

            async def held_incidents() -> set[uuid.UUID]:
                return await legal_holds(gateway)

            retention = RetentionJob(
                "coaching",
                database,
                scheduled_runs,
                rules=retention_rules(
                    notes_days=settings.retention_notes_days, held_incidents=held_incidents
                ),
                audit=audit_trail,
                every=dt.timedelta(hours=settings.retention_every_hours),
            )
            app.state.retention = retention
            async with retention.running(enabled=settings.retention_job):
                tune_gc(settings.tune_gc)
                yield

    app = create_service_app(
        name="coaching",
        title="Coaching API",
        description="Coaches, coaching engagements and sessions, the ambassador program, "
        "coaching history and candidates for guidance.",
        settings=settings,
        lifespan=lifespan,
    )
    app.state.audit_trail = audit_trail
    app.include_router(router)
    return app
