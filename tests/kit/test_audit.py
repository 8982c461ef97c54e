"""kit.audit: a hash chain that verifies, shows where it was tampered with, and never forks
under concurrent appends; an audited read route writes in a write transaction."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import MetaData, delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from kit.audit import AUDITED_READ, AuditRecord, AuditTrail
from kit.db import Database, SessionDep, new_registry
from tests.support.databases import DatabaseSet, create_databases, drop_databases

METADATA: MetaData = new_registry().metadata
TRAIL = AuditTrail(METADATA, app="kit-test")


def record(n: int = 0) -> AuditRecord:
    return AuditRecord(
        actor=f"user:{uuid.uuid4()}",
        actor_person_id=uuid.uuid4(),
        action="incident.read",
        object_type="incident",
        object_id=str(uuid.uuid4()),
        person_id=uuid.uuid4(),
        detail=f"full {n}",
        route="GET /api/v1/incidents/x",
        request_id="req-1",
    )


@pytest.fixture(scope="module")
def audit_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseSet]:
    databases = create_databases(
        f"smp_audit_{os.getpid()}", tmp_path_factory.mktemp("audit"), apps=["audit"]
    )
    yield databases
    drop_databases(databases)


@pytest.fixture
async def database(audit_databases: DatabaseSet) -> AsyncIterator[Database]:
    database = Database(audit_databases.urls["audit"])
    async with database.engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield database
    async with database.transaction() as session:
        await session.execute(delete(TRAIL.entries))
        await session.execute(delete(TRAIL.head))
    await database.dispose()


async def append(database: Database, n: int) -> None:
    for i in range(n):
        async with database.transaction() as session:
            await TRAIL.append(session, record(i))


class TestVerify:
    async def test_an_empty_trail_is_intact(self, database: Database) -> None:
        assert (await TRAIL.verify(database)).ok

    async def test_appended_entries_form_an_intact_chain(self, database: Database) -> None:
        await append(database, 5)

        result = await TRAIL.verify(database)

        assert result.ok
        assert result.checked == 5

    async def test_a_changed_entry_is_found(self, database: Database) -> None:
        await append(database, 5)
        async with database.transaction() as session:
            await session.execute(
                update(TRAIL.entries).where(TRAIL.entries.c.seq == 3).values(actor="user:nobody")
            )

        result = await TRAIL.verify(database)

        assert not result.ok
        assert result.broken_at == 3
        assert "does not match its hash" in (result.problem or "")

    async def test_a_removed_entry_is_found(self, database: Database) -> None:
        await append(database, 5)
        async with database.transaction() as session:
            await session.execute(delete(TRAIL.entries).where(TRAIL.entries.c.seq == 2))

        result = await TRAIL.verify(database)

        assert (result.ok, result.broken_at) == (False, 2)

    async def test_entries_cut_off_the_end_are_found(self, database: Database) -> None:
        await append(database, 5)
        async with database.transaction() as session:
            await session.execute(delete(TRAIL.entries).where(TRAIL.entries.c.seq >= 4))

        result = await TRAIL.verify(database)

        assert (result.ok, result.broken_at) == (False, 4)

    async def test_a_rehashed_entry_breaks_the_link_to_the_next(self, database: Database) -> None:
        await append(database, 3)
        async with database.transaction() as session:
            await session.execute(
                update(TRAIL.entries).where(TRAIL.entries.c.seq == 2).values(hash="f" * 64)
            )

        result = await TRAIL.verify(database)

        assert not result.ok
        assert result.broken_at == 2


class TestConcurrentAppends:
    async def test_the_chain_never_forks(self, database: Database) -> None:
        await asyncio.gather(*(append(database, 5) for _ in range(8)))

        result = await TRAIL.verify(database)

        assert result.ok
        assert result.checked == 40

    async def test_pages_appended_at_once_interleave_without_forking(
        self, database: Database
    ) -> None:
        async def page(size: int) -> list[int]:
            async with database.transaction() as session:
                return await TRAIL.append_many(session, [record(i) for i in range(size)])

        pages, _ = await asyncio.gather(
            asyncio.gather(*(page(7) for _ in range(4))), append(database, 3)
        )

        result = await TRAIL.verify(database)
        assert result.ok
        assert result.checked == 31
        for seqs in pages:
            assert seqs == list(range(seqs[0], seqs[0] + 7))


class TestAppendMany:
    async def test_a_page_of_entries_is_chained_in_order(self, database: Database) -> None:
        await append(database, 2)
        async with database.transaction() as session:
            seqs = await TRAIL.append_many(session, [record(i) for i in range(5)])
        await append(database, 1)

        result = await TRAIL.verify(database)

        assert seqs == [3, 4, 5, 6, 7]
        assert (result.ok, result.checked) == (True, 8)

    async def test_nothing_to_append_writes_nothing(self, database: Database) -> None:
        async with database.transaction() as session:
            seqs = await TRAIL.append_many(session, [])

        assert seqs == []
        assert (await TRAIL.verify(database)).checked == 0


class TestAuditedRead:
    async def test_an_audited_get_opens_a_write_transaction(self) -> None:
        seen: dict[str, bool] = {}
        router = APIRouter()

        async def writes(session: AsyncSession) -> bool:
            connection = (await session.connection()).sync_connection
            assert connection is not None
            return bool(connection.get_execution_options().get("kit_write"))

        @router.get("/plain")
        async def plain(session: SessionDep) -> None:
            seen["plain"] = await writes(session)

        @router.get("/audited", dependencies=[AUDITED_READ])
        async def audited(session: SessionDep) -> None:
            seen["audited"] = await writes(session)

        app = FastAPI()
        app.include_router(router)
        app.state.database = Database("sqlite+aiosqlite:///:memory:")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://t"
        ) as client:
            await client.get("/plain")
            await client.get("/audited")
        await app.state.database.dispose()

        assert seen == {"plain": False, "audited": True}
