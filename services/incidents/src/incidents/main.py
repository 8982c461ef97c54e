"""The incidents app: factory and lifespan."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from incidents.config import IncidentsSettings
from incidents.db import audit_trail, idempotency_keys, outbox, scheduled_runs
from incidents.decision.jobs import Backoff
from incidents.decision.upstream import cache_directory
from incidents.decision.worker import Worker
from incidents.policy.replays import Replayer
from incidents.reminders import rules as reminder_rules
from incidents.retention import rules as retention_rules
from incidents.router import router
from kit.crypto import install
from kit.reminders import ReminderJob
from kit.retention import RetentionJob
from kit.runtime import create_service_app, service_runtime, tune_gc

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def create_app(
    settings: IncidentsSettings | None = None,
    *,
    gateway_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """``gateway_transport`` lets tests wire calls to the gateway's ASGI app in-process."""
    settings = settings or IncidentsSettings()
    # Notes and texts are encrypted at rest with this app's key ring (kit.crypto).
    install("incidents", settings.keyring())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            app,
            settings,
            service_name="incidents",
            alembic_ini=ALEMBIC_INI,
            idempotency_table=idempotency_keys,
            gateway_url=settings.gateway_url,
            outbox=outbox,
            gateway_transport=gateway_transport,
        ) as (database, gateway):
            cache_directory(gateway, seconds=settings.directory_cache_seconds)
            worker = Worker(
                database,
                gateway,
                backoff=Backoff(settings.retry_base_seconds, settings.retry_max_seconds),
                poll_seconds=settings.worker_poll_seconds,
                history_timeout_seconds=settings.history_timeout_seconds,
            )
            app.state.worker = worker
            replayer = Replayer(database, gateway, poll_seconds=settings.worker_poll_seconds)
            app.state.replayer = replayer
            retention = RetentionJob(
                "incidents",
                database,
                scheduled_runs,
                rules=retention_rules(
                    dismissed_days=settings.retention_dismissed_days,
                    closed_days=settings.retention_closed_days,
                    late_report_days=settings.retention_late_report_days,
                ),
                audit=audit_trail,
                every=dt.timedelta(hours=settings.retention_every_hours),
            )
            app.state.retention = retention
            reminders = ReminderJob(
                "incidents",
                database,
                scheduled_runs,
                rules=reminder_rules(reminder_hours=settings.deadline_reminder_hours),
                every=dt.timedelta(seconds=settings.reminders_every_seconds),
                max_per_round=settings.reminders_max_per_round,
            )
            app.state.reminders = reminders
            async with (
                worker.running(enabled=settings.background_worker),
                replayer.running(enabled=settings.background_worker),
                retention.running(enabled=settings.retention_job),
                reminders.running(enabled=settings.reminders_job),
            ):
                tune_gc(settings.tune_gc)
                yield

    app = create_service_app(
        name="incidents",
        title="Incidents API",
        description="Incident reports, the escalation policy agreed beforehand, decisions, "
        "the incident lifecycle and its timeline.",
        settings=settings,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.audit_trail = audit_trail
    app.include_router(router)
    return app
