"""The training app: factory and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from kit.runtime import create_service_app, database_runtime, tune_gc
from training.config import TrainingSettings
from training.db import idempotency_keys
from training.router import router

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def create_app(settings: TrainingSettings | None = None) -> FastAPI:
    settings = settings or TrainingSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with database_runtime(
            app, settings, alembic_ini=ALEMBIC_INI, idempotency_table=idempotency_keys
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
    app.include_router(router)
    return app
