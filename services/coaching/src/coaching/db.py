"""The coaching database's own metadata, kept apart from every other service's."""

import functools
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from kit.audit import AuditTrail
from kit.db import new_registry, table_of
from kit.idempotency import define_table
from kit.jobs import define_schedule_table
from kit.outbox import Outbox


class Base(SQLModel, registry=new_registry()):
    pass


idempotency_keys = define_table(Base.metadata)
# The events this service emits, written with the change that caused them (kit.outbox).
outbox = Outbox(Base.metadata, source="coaching")
# Who read or changed what (kit.audit): append-only, each entry chained to the one before.
audit_trail = AuditTrail(Base.metadata, app="coaching")
# Periodic jobs (retention), leased so one replica runs each at a time (kit.jobs).
scheduled_runs = define_schedule_table(Base.metadata)


@functools.cache
def _insert_or_nothing(table: Table, unique: str, dialect: str) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=[unique]).returning(table.c[unique])


async def insert_unless_present(
    session: AsyncSession, model: type[Any], values: dict[str, Any], *, unique: str
) -> bool:
    """Insert a row of ``model`` (its columns' defaults fill in the rest) unless one with the
    same value of the ``unique`` column exists (written before, or by a concurrent request
    first); ``True`` when it was inserted. One Core statement, built once: the ORM's flush,
    and the savepoint a flush that hits the unique index needs to let the transaction go on,
    cost several times more on every decision (issue 16)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    statement = _insert_or_nothing(table_of(model), unique, dialect)
    return await session.scalar(statement, values) is not None
