"""/healthz touches nothing; /readyz says whether the database is reachable and migrated."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

import training.main
from kit.migrations import upgrade_to_head
from tests.support.databases import DatabaseSet, create_databases, drop_databases
from tests.support.stack import COMMON
from training.config import TrainingSettings


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[DatabaseSet]:
    databases = create_databases(f"smp_ready_{os.getpid()}", tmp_path, apps=["training"])
    yield databases
    drop_databases(databases)


@pytest.fixture
async def unmigrated_training(empty_database: DatabaseSet) -> AsyncIterator[httpx.AsyncClient]:
    app = training.main.create_app(
        TrainingSettings(database_url=empty_database.urls["training"], **COMMON)
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://training") as client,
    ):
        yield client
        await app.state.database.dispose()


class TestReadiness:
    async def test_an_unmigrated_database_is_not_ready_and_says_what_to_do(
        self, unmigrated_training: httpx.AsyncClient
    ) -> None:
        liveness = await unmigrated_training.get("/healthz")
        response = await unmigrated_training.get("/readyz")

        assert liveness.status_code == 200
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["checks"]["database"] == "ok"
        assert "run migrate" in response.json()["checks"]["migrations"]

    async def test_after_migrating_it_is_ready(
        self, unmigrated_training: httpx.AsyncClient, empty_database: DatabaseSet
    ) -> None:
        await unmigrated_training.get("/readyz")
        # Alembic runs its own event loop: give it a thread, as `migrate` would a process.
        await asyncio.to_thread(
            upgrade_to_head, training.main.ALEMBIC_INI, empty_database.urls["training"]
        )

        response = await unmigrated_training.get("/readyz")

        assert response.status_code == 200
        assert response.json() == {
            "status": "ready",
            "checks": {"database": "ok", "migrations": "ok"},
        }
