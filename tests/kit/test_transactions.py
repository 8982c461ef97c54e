"""``Database.transaction``: a read that changed nothing just ends, but whatever a
transaction wrote is kept, whether it was opened for writing or not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from starlette.types import Message

from kit.db import Database, SessionDep


class Base(DeclarativeBase):
    pass


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}")
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield database
    await database.dispose()


async def names(database: Database) -> list[str]:
    async with database.transaction(write=False) as session:
        return list((await session.scalars(select(Tag.name).order_by(Tag.id))).all())


async def test_an_entity_added_in_a_read_transaction_is_kept(database: Database) -> None:
    async with database.transaction(write=False) as session:
        session.add(Tag(name="flushed"))
        await session.flush()

    assert await names(database) == ["flushed"]


async def test_an_insert_statement_in_a_read_transaction_is_kept(database: Database) -> None:
    async with database.transaction(write=False) as session:
        await session.execute(insert(Tag).values(name="inserted"))

    assert await names(database) == ["inserted"]


async def test_an_error_in_a_read_transaction_rolls_back_what_it_wrote(
    database: Database,
) -> None:
    async def write_then_fail() -> None:
        async with database.transaction(write=False) as session:
            session.add(Tag(name="lost"))
            await session.flush()
            raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        await write_then_fail()

    assert await names(database) == []


async def test_reads_leave_the_connection_ready_for_the_next_writer(database: Database) -> None:
    for _ in range(3):
        assert await names(database) == []
    async with database.transaction() as session:
        session.add(Tag(name="after reads"))

    assert await names(database) == ["after reads"]


async def test_every_transaction_returns_its_connection_to_the_pool(database: Database) -> None:
    await names(database)
    async with database.transaction() as session:
        session.add(Tag(name="written"))
    with pytest.raises(RuntimeError):
        async with database.transaction():
            raise RuntimeError("the request failed")

    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_request_lets_other_tasks_run_before_its_response_is_sent(
    database: Database,
) -> None:
    # On SQLite nothing in a read suspends: the request session's one loop turn is what
    # lets the loop read other sockets between requests (see kit.db.request_session).
    app = FastAPI()
    app.state.database = database

    @app.get("/tags")
    async def list_tags(session: SessionDep) -> list[str]:
        return list((await session.scalars(select(Tag.name))).all())

    events: list[str] = []

    async def other_task() -> None:
        events.append("other task")

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        events.append(message["type"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/tags",
        "raw_path": b"/tags",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test")],
        "server": ("test", 80),
        "client": ("test", 1),
    }
    other = asyncio.ensure_future(other_task())
    await app(scope, receive, send)
    await other

    assert events == ["other task", "http.response.start", "http.response.body"]
