"""The training app: factory and lifespan."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from kit.reminders import ReminderJob
from kit.retention import RetentionJob
from kit.runtime import create_service_app, service_runtime, tune_gc
from training.config import TrainingSettings
from training.db import audit_trail, idempotency_keys, outbox, scheduled_runs
from training.reminders import rules as reminder_rules
from training.retention import rules as retention_rules
from training.router import routers
from training.rules.reconciler import Reconciler

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def create_app(
    settings: TrainingSettings | None = None,
    *,
    gateway_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """``gateway_transport`` lets tests wire calls to the gateway's ASGI app in-process."""
    settings = settings or TrainingSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            app,
            settings,
            service_name="training",
            alembic_ini=ALEMBIC_INI,
            idempotency_table=idempotency_keys,
            gateway_url=settings.gateway_url,
            outbox=outbox,
            gateway_transport=gateway_transport,
        ) as (database, gateway):
            reconciler = Reconciler(
                database,
                gateway,
                every_seconds=settings.reconcile_seconds,
                renewal_lead_days=settings.renewal_lead_days,
            )
            app.state.reconciler = reconciler
            reminders = ReminderJob(
                "training",
                database,
                scheduled_runs,
                rules=reminder_rules(reminder_days=settings.assignment_reminder_days),
                every=dt.timedelta(seconds=settings.reminders_every_seconds),
                max_per_round=settings.reminders_max_per_round,
            )
            app.state.reminders = reminders
            retention = RetentionJob(
                "training",
                database,
                scheduled_runs,
                rules=retention_rules(left_days=settings.retention_left_days),
                audit=audit_trail,
                every=dt.timedelta(hours=settings.retention_every_hours),
            )
            app.state.retention = retention
            async with (
                reconciler.running(enabled=settings.reconciler),
                reminders.running(enabled=settings.reminders_job),
                retention.running(enabled=settings.retention_job),
            ):
                tune_gc(settings.tune_gc)
                yield

    app = create_service_app(
        name="training",
        title="Training API",
        description="The social media policy, training modules, quizzes, assignments, "
        "community and reports.",
        settings=settings,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.audit_trail = audit_trail
    for router in routers:
        app.include_router(router)
    return app
