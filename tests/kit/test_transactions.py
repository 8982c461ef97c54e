"""``Database.transaction``: a read that changed nothing just ends, but whatever a
transaction wrote is kept, whether it was opened for writing or not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit.db import Database


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
