"""The async engine and the one-transaction-per-request session.

One URL chooses the backend: ``sqlite+aiosqlite:///var/x.db`` (the embedded default) or
``postgresql+asyncpg://...``. Service code only ``flush()``es; the request's session
dependency commits on success and rolls back on any error, so a request never leaves a
partial write behind.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import functools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from sqlalchemy import DateTime, Enum, Insert, MetaData, Table, event, insert
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached, registry
from sqlalchemy.types import TypeDecorator

from kit import sqlite

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITE_OPTION = "kit_write"
# In a request's ``state``: who commits the request's transaction once its response is
# known, instead of the session dependency (``kit.idempotency``: the key is sealed in it).
TRANSACTION_OWNER = "kit_transaction_owner"
# In a request's ``state``: the request writes even if its method is safe (an audited read
# appends to the access audit), so its session takes the write lock up front.
WRITES_ON_READ = "kit_writes_on_read"


class TransactionOwner(Protocol):
    async def open(
        self, transaction: AbstractAsyncContextManager[AsyncSession]
    ) -> AsyncSession: ...


def new_registry() -> registry:
    """A registry with its own metadata, so each service's tables stay apart even when the
    tests import every service into one process. Use as ``class Base(SQLModel, registry=...)``."""
    return registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


def table_of(model: type[Any]) -> Table:
    """A mapped model's table, for Core statements on its columns: without ORM entities a
    statement skips the ORM's compile and loading steps (a tenth of a primary-key read)."""
    table: Table = model.__table__
    return table


def column_values(row: Any) -> dict[str, Any]:
    """A table model instance's column values, as a Core insert of the row takes them."""
    return {column.key: getattr(row, column.key) for column in table_of(type(row)).columns}


@functools.cache
def _insert_into(table: Table) -> Insert:
    return insert(table)


async def insert_as_loaded(session: AsyncSession, row: Any) -> None:
    """Insert ``row`` (a new table model instance, every column set) with one Core
    statement, then attach it to ``session`` as if it had been read back: a change to it
    flushes as an UPDATE (with its version check, if it has one). For a row its
    transaction writes and then changes, this spares the unit of work's INSERT."""
    await session.execute(_insert_into(table_of(type(row))), column_values(row))
    make_transient_to_detached(row)
    session.add(row)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC on both backends (SQLite would otherwise hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[dt.datetime]:
        return dt.datetime

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def str_enum(enum_type: type[enum.StrEnum]) -> Enum:
    """Store a ``StrEnum`` by its values as a plain string column: readable in SQL, the
    same on both backends, and a new member needs no database type change."""
    return Enum(
        enum_type,
        native_enum=False,
        create_constraint=False,
        length=max(32, *(len(member.value) for member in enum_type)),
        values_callable=lambda members: [member.value for member in members],
    )


SQLITE_BUSY_TIMEOUT_SECONDS = 30
DEFAULT_POOL_TIMEOUT_SECONDS = 10.0


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A transaction that will write takes the write lock up front: a deferred one
        # would fail with SQLITE_BUSY when it tries to upgrade while another writer holds
        # the lock, instead of waiting for it.
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        # Straight to the driver: BEGIN needs none of SQLAlchemy's statement handling,
        # and every request pays for it.
        cursor = connection.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        finally:
            cursor.close()


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    pool_timeout: float = DEFAULT_POOL_TIMEOUT_SECONDS,
    echo: bool = False,
) -> AsyncEngine:
    """Up to ``pool_size`` kept connections and as many again under load; a checkout that
    finds none free within ``pool_timeout`` seconds raises ``sqlalchemy.exc.TimeoutError``,
    which every app answers with a 503 (kit.observability)."""
    parsed = make_url(url)
    pool: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": pool_size,
        "pool_timeout": pool_timeout,
    }
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        else:
            pool = {}  # one shared in-memory connection (StaticPool): no queue to size
        # kit.sqlite runs sqlite3 on the event loop (aiosqlite's dialect, no thread hop).
        connect = sqlite.connector(parsed, busy_timeout_seconds=SQLITE_BUSY_TIMEOUT_SECONDS)
        engine = create_async_engine(url, echo=echo, async_creator=connect, **pool)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, echo=echo, pool_recycle=1800, **pool)


_CHANGED = "kit_changed"
_AFTER_COMMIT = "kit_after_commit"
_BEFORE_COMMIT = "kit_before_commit"


class _TrackedSession(Session):
    """Notes in ``info`` that it wrote: a flush, or an INSERT, UPDATE or DELETE statement.
    A read transaction that wrote is committed like any other."""


@event.listens_for(_TrackedSession, "after_flush")
def _note_flush(session: Session, flush_context: Any) -> None:
    session.info[_CHANGED] = True


@event.listens_for(_TrackedSession, "do_orm_execute")
def _note_dml(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_CHANGED] = True


@event.listens_for(_TrackedSession, "before_commit")
def _run_before_commit(session: Session) -> None:
    for callback in session.info.pop(_BEFORE_COMMIT, ()):
        callback(session)


@event.listens_for(_TrackedSession, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, ()):
        callback()


@event.listens_for(_TrackedSession, "after_rollback")
def _forget_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
    session.info.pop(_BEFORE_COMMIT, None)


def call_before_commit(session: AsyncSession, callback: Callable[[Session], None]) -> None:
    """Call ``callback`` with the (sync) session just before the transaction commits, when
    it may still write: e.g. everything a request queued, in one statement. The session
    counts as changed, so a read transaction that queued something commits."""
    info = session.sync_session.info
    info[_CHANGED] = True
    callbacks: list[Callable[[Session], None]] = info.setdefault(_BEFORE_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)


def call_after_commit(session: AsyncSession | Session, callback: Callable[[], None]) -> None:
    """Call ``callback`` once the session's transaction has committed (never if it rolls
    back): e.g. wake a background loop for work the transaction queued, when it is
    visible to it. ``session`` may be the sync one a ``call_before_commit`` callback gets."""
    info = session.info if isinstance(session, Session) else session.sync_session.info
    callbacks: list[Callable[[], None]] = info.setdefault(_AFTER_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)


class Database:
    """Owns the engine and hands out sessions; created in the app's lifespan."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        pool_timeout: float = DEFAULT_POOL_TIMEOUT_SECONDS,
        echo: bool = False,
    ) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size, pool_timeout=pool_timeout, echo=echo)
        self._sessionmaker: async_sessionmaker[AsyncSession]
        # kit.sqlite's driver does no I/O the loop waits for, so closing a session never
        # suspends and a cancellation cannot land half-way through it. AsyncSession's own
        # exit closes in a shielded task for drivers that do wait (asyncpg); on SQLite that
        # task cost about 5 % of a primary-key read's CPU.
        self._close_inline = self.backend == "sqlite"
        self.use_engine()

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed if the block succeeds, else rolled back.

        A read (``write=False``) that changed nothing is not committed: closing the session
        ends it, and the commit would have cost a second trip through SQLAlchemy's async
        bridge on every GET (about a tenth of a primary-key read's CPU)."""
        async with self._open_session() as session:
            if write:
                await session.connection(execution_options={_WRITE_OPTION: True})
            try:
                yield session
                if write or session.sync_session.info.get(_CHANGED, False):
                    await session.commit()
            except BaseException:
                await session.rollback()
                raise

    def _open_session(self) -> AsyncSession | _ClosedInline:
        session = self._sessionmaker()
        return _ClosedInline(session) if self._close_inline else session

    def use_engine(self) -> None:
        """Sessions on the engine's own pooled connections (the normal state)."""
        self._sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=_TrackedSession
        )

    def use_connection(self, connection: AsyncConnection) -> None:
        """Tests: run every session inside ``connection``'s outer transaction, which the
        test rolls back; a session's commit only releases its savepoint."""
        self._sessionmaker = async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
            sync_session_class=_TrackedSession,
        )

    async def dispose(self) -> None:
        await self.engine.dispose()


class _ClosedInline:
    """``async with``: the session, closed on exit in the current task."""

    __slots__ = ("session",)

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def __aenter__(self) -> AsyncSession:
        return self.session

    async def __aexit__(self, *_: object) -> None:
        await self.session.close()


# Dependencies are ``async def`` even without I/O: FastAPI runs a plain ``def`` dependency
# in its thread pool, a thread hop per request that cost more than the query it served.
async def database_of(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request; reads take no write lock on SQLite."""
    database: Database = request.app.state.database
    owner: TransactionOwner | None = request.scope.get("state", {}).get(TRANSACTION_OWNER)
    if owner is not None and request.method not in SAFE_METHODS:
        # Committed (or rolled back) by the owner once the response is built.
        yield await owner.open(database.transaction())
        return
    writes = request.method not in SAFE_METHODS or bool(
        request.scope.get("state", {}).get(WRITES_ON_READ)
    )
    async with database.transaction(write=writes) as session:
        yield session
    # One turn of the event loop between the work and the response. On SQLite nothing in a
    # read suspends, so without it a burst of requests ran back to back in one loop turn,
    # each answer leaving on its own, with no socket read in between: at 16 connections
    # through the gateway p99 went from 9 to 14-19 ms and throughput fell by a tenth
    # (bench/proxy_overhead.py). Answers of one turn now leave together in the next.
    await asyncio.sleep(0)


# scope="function": the commit happens before the response is sent, so a client never
# sees a success for a write that then failed to commit.
SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]


async def flush_unless_duplicate(session: AsyncSession, *rows: Any) -> bool:
    """Add ``rows`` and flush the session's changes in a savepoint.

    ``False`` when the database refused them (a unique index: a concurrent request wrote
    the same thing first): the savepoint is rolled back and the request's transaction goes
    on, so the caller can answer with what the other request wrote, or with a conflict.
    """
    try:
        async with session.begin_nested():
            session.add_all(rows)
            await session.flush()
    except IntegrityError:
        return False
    return True
