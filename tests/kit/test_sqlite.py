"""The embedded SQLite driver: statements run on the event loop, and only a wait for a lock
leaves it, so one waiting writer never stalls the other requests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from kit import sqlite
from kit.db import Database


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}")
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT)"))
    yield database
    await database.dispose()


async def insert(database: Database, title: str) -> None:
    async with database.transaction() as session:
        await session.execute(text("INSERT INTO notes (title) VALUES (:title)"), {"title": title})


async def titles(database: Database) -> list[str]:
    async with database.transaction(write=False) as session:
        return list((await session.scalars(text("SELECT title FROM notes ORDER BY id"))).all())


async def test_a_writer_waiting_for_the_lock_leaves_the_loop_free(database: Database) -> None:
    async with database.transaction() as first:
        await first.execute(text("INSERT INTO notes (title) VALUES ('first')"))
        waiting = asyncio.create_task(insert(database, "second"))
        started = time.monotonic()
        await asyncio.sleep(0.3)
        # The loop kept its time while the second writer waited, and readers still read
        # the last committed state beside both writers.
        assert time.monotonic() - started < 0.6
        assert not waiting.done()
        assert await titles(database) == []

    await asyncio.wait_for(waiting, timeout=5)
    assert await titles(database) == ["first", "second"]


async def test_a_lock_held_past_the_busy_timeout_is_an_error(tmp_path: Path) -> None:
    url = make_url(f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}")
    connect = sqlite.connector(url, busy_timeout_seconds=0.2)
    engine = create_async_engine(url, async_creator=connect)
    try:
        async with engine.connect() as holder:
            await holder.exec_driver_sql("BEGIN IMMEDIATE")
            async with engine.connect() as other:
                with pytest.raises(OperationalError, match="database is locked"):
                    await other.exec_driver_sql("BEGIN IMMEDIATE")
            await holder.rollback()
    finally:
        await engine.dispose()


async def test_errors_of_sqlite_reach_the_caller_as_sqlalchemy_errors(
    database: Database,
) -> None:
    with pytest.raises(OperationalError, match="no such table"):
        async with database.transaction(write=False) as session:
            await session.execute(text("SELECT * FROM missing"))

    assert await titles(database) == []  # the connection is still usable


async def test_a_writer_cancelled_while_waiting_leaves_nothing_behind(
    database: Database,
) -> None:
    async with database.transaction() as first:
        await first.execute(text("INSERT INTO notes (title) VALUES ('first')"))
        waiting = asyncio.create_task(insert(database, "abandoned"))
        await asyncio.sleep(0.1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    # The lock is free at once for the next writer, and the cancelled one wrote nothing.
    async with asyncio.timeout(1):
        await insert(database, "third")
    assert await titles(database) == ["first", "third"]
