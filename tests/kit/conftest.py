"""Fixtures for the kit tests: the notes app on its own database."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete

from kit.clients import InternalTokenAuth
from kit.db import Database
from kit.idempotency import request_fingerprint
from kit.identity import InternalTokenSigner, PrincipalKind
from kit.settings import DEV_INTERNAL_TOKEN_SECRET
from tests.kit.notes_app import NotesBase, NotesSettings, create_app
from tests.support.databases import (
    DatabaseSet,
    create_databases,
    drop_databases,
    roll_back_afterwards,
)

SIGNER = InternalTokenSigner(DEV_INTERNAL_TOKEN_SECRET)
SUBJECT = "00000000-0000-0000-0000-000000000001"


def fingerprint_of(request: httpx.Request) -> str:
    """The fingerprint the idempotency middleware takes of ``request``."""
    return request_fingerprint(
        {"method": request.method, "path": request.url.path, "query_string": request.url.query},
        request.read(),
    )


@pytest.fixture(scope="session")
def notes_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseSet]:
    databases = create_databases(
        f"smp_test_{os.getpid()}", tmp_path_factory.mktemp("notes"), apps=["notes"]
    )
    yield databases
    drop_databases(databases)


@pytest.fixture(scope="session")
async def notes_app(notes_databases: DatabaseSet) -> AsyncIterator[FastAPI]:
    settings = NotesSettings(
        database_url=notes_databases.urls["notes"],
        environment="test",
        tune_gc=False,
        max_body_bytes=2048,
        # No loop of its own beside the tests (tests/kit/test_in_process_stack.py).
        idempotency_janitor=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        database: Database = app.state.database
        async with database.engine.begin() as connection:
            await connection.run_sync(NotesBase.metadata.create_all)
        yield app


@dataclass
class Notes:
    app: FastAPI
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(
        self,
        *,
        subject: str = SUBJECT,
        roles: Iterable[str] = ("employee",),
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.AsyncClient:
        """A client with a valid internal token for ``subject`` unless ``token`` is given
        (pass ``token=""`` for none)."""
        auth = None
        all_headers = {"Authorization": f"Bearer {token}"} if token else {}
        if token is None:
            auth = InternalTokenAuth(
                SIGNER, audience="notes", subject=subject, kind=PrincipalKind.USER, roles=roles
            )
        all_headers.update(headers or {})
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(self.app),
            base_url="http://notes",
            headers=all_headers,
            auth=auth,
        )
        self._clients.append(client)
        return client

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()


@pytest.fixture
async def notes(notes_app: FastAPI) -> AsyncIterator[Notes]:
    """Each test inside a transaction that is rolled back."""
    database: Database = notes_app.state.database
    handle = Notes(notes_app)
    async with contextlib.AsyncExitStack() as cleanup:
        await roll_back_afterwards(cleanup, database)
        cleanup.push_async_callback(handle.close)
        yield handle


@pytest.fixture
async def committed_notes(notes_app: FastAPI) -> AsyncIterator[Notes]:
    """Real connections (for racing requests); tables emptied afterwards."""
    handle = Notes(notes_app)
    try:
        yield handle
    finally:
        await handle.close()
        notes_app.state.gate = None
        database: Database = notes_app.state.database
        async with database.transaction() as session:
            for table in reversed(NotesBase.metadata.sorted_tables):
                await session.execute(delete(table))
