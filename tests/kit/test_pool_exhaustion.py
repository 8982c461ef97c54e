"""Every pooled database connection taken: the client is told to retry (503 with
``Retry-After``), and nothing is left behind once connections come free again."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete

from kit.clients import InternalTokenAuth
from kit.db import Database
from kit.identity import PrincipalKind
from tests.kit.conftest import SIGNER, SUBJECT
from tests.kit.notes_app import Note, NotesSettings, create_app
from tests.support.databases import DatabaseSet

PROBLEM = "application/problem+json"
# pool_size=1 keeps one connection and allows one more under load (kit.db.create_engine).
POOL_CONNECTIONS = 2


@pytest.fixture
async def tiny_pool_app(notes_databases: DatabaseSet, notes_app: FastAPI) -> AsyncIterator[FastAPI]:
    """The notes app with one pooled connection (plus one overflow) and a 50 ms wait, on
    the tables ``notes_app`` created."""
    settings = NotesSettings(
        database_url=notes_databases.urls["notes"],
        environment="test",
        tune_gc=False,
        idempotency_janitor=False,
        db_pool_size=1,
        db_pool_timeout_seconds=0.05,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app
        database: Database = app.state.database
        async with database.transaction() as session:
            await session.execute(delete(Note))


@contextlib.asynccontextmanager
async def every_connection_held(app: FastAPI) -> AsyncIterator[None]:
    database: Database = app.state.database
    async with contextlib.AsyncExitStack() as held:
        for _ in range(POOL_CONNECTIONS):
            await held.enter_async_context(database.engine.connect())
        yield


def client_of(app: FastAPI) -> httpx.AsyncClient:
    auth = InternalTokenAuth(
        SIGNER, audience="notes", subject=SUBJECT, kind=PrincipalKind.USER, roles=("employee",)
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://notes", auth=auth)


class TestPoolExhausted:
    async def test_a_read_is_a_503_problem_with_retry_after(self, tiny_pool_app: FastAPI) -> None:
        async with client_of(tiny_pool_app) as client:
            async with every_connection_held(tiny_pool_app):
                response = await client.get("/api/v1/notes", headers={"X-Request-ID": "req-busy-1"})
            after = await client.get("/api/v1/notes")

        assert response.status_code == 503
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["retry-after"] == "1"
        body = response.json()
        assert body["type"] == "urn:smp:problem:database-busy"
        assert body["status"] == 503
        assert body["request_id"] == "req-busy-1"
        assert "Traceback" not in response.text
        assert after.status_code == 200

    async def test_a_create_with_an_idempotency_key_can_be_retried(
        self, tiny_pool_app: FastAPI
    ) -> None:
        key = {"Idempotency-Key": "busy-create-1"}
        async with client_of(tiny_pool_app) as client:
            async with every_connection_held(tiny_pool_app):
                refused = await client.post("/api/v1/notes", json={"title": "a"}, headers=key)
            retried = await client.post("/api/v1/notes", json={"title": "a"}, headers=key)
            listed = await client.get("/api/v1/notes")

        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert retried.status_code == 201
        assert [note["title"] for note in listed.json()["items"]] == ["a"]

    async def test_is_logged_as_a_warning_not_an_error(
        self, tiny_pool_app: FastAPI, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with client_of(tiny_pool_app) as client, every_connection_held(tiny_pool_app):
            await client.get("/api/v1/notes")

        records = [r for r in caplog.records if r.name == "kit.errors"]
        assert [r.levelname for r in records] == ["WARNING"]
        assert records[0].getMessage() == "database pool exhausted"
