"""SQLite for the async engine without a thread hop per call.

aiosqlite runs every call (open a cursor, execute, fetch, close, commit) on a thread of
its own and hands the result back to the event loop. On a primary-key read that was a
dozen hops, each costing more CPU than the query: the hops were half of what a service
spent per request (``bench/proxy_overhead.py``). SQLite answers from its page cache in
microseconds, so this driver calls ``sqlite3`` on the event loop instead.

Waiting never blocks the loop. The connection's busy timeout is 0, so a statement that needs
a lock another connection holds (a second writer's ``BEGIN IMMEDIATE``) fails at once with
``SQLITE_BUSY`` instead of stalling every request. It is tried again after an
``asyncio.sleep``, with the delays SQLite's own busy handler uses, until the busy timeout
has passed. Between tries the connection is idle, so a request cancelled while it waits
leaves nothing running on it.

The objects here offer the part of aiosqlite's API that SQLAlchemy's ``aiosqlite``
dialect uses, so the dialect and everything above it are unchanged: pass
:func:`connector` as ``create_async_engine(..., async_creator=...)``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL

T = TypeVar("T")

# Pragmas every connection gets: WAL lets readers run beside the one writer, foreign keys
# are enforced as on PostgreSQL, and NORMAL sync is safe with WAL.
CONNECTION_PRAGMAS = ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL")
# Milliseconds between tries on a locked database: SQLite's own busy handler's delays.
BUSY_DELAYS_MS = (1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100)


def connector(url: URL, *, busy_timeout_seconds: float) -> Callable[[], Awaitable[Connection]]:
    """What ``async_creator`` calls for each new pooled connection to ``url``."""
    (database,), url_options = SQLiteDialect_pysqlite().create_connect_args(url)
    options: dict[str, Any] = dict(url_options)
    # SQLAlchemy, not sqlite3, emits BEGIN (needed for SAVEPOINT and BEGIN IMMEDIATE);
    # waits for a lock are ours (Connection.run), not sqlite3's. An engine belongs to one
    # event loop, not to one thread: let its connections follow the loop.
    options.update(isolation_level=None, check_same_thread=False, timeout=0)
    busy_timeout_ms = int(busy_timeout_seconds * 1000)

    async def connect() -> Connection:
        raw = sqlite3.connect(database, **options)
        for pragma in CONNECTION_PRAGMAS:
            raw.execute(f"PRAGMA {pragma}")
        return Connection(raw, busy_timeout_ms=busy_timeout_ms)

    return connect


class Connection:
    """An ``aiosqlite.Connection`` look-alike that runs each call on the event loop."""

    def __init__(self, raw: sqlite3.Connection, *, busy_timeout_ms: int) -> None:
        # SQLAlchemy's adapter reads ``_connection`` (truthy while open) and ``_conn``.
        self._conn = raw
        self._connection: sqlite3.Connection | None = raw
        self._busy_timeout_ms = busy_timeout_ms
        self._tx = _InlineQueue()

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)`` on the loop; while the database is locked, again after a sleep."""
        waited_ms = 0
        attempt = 0
        while True:
            try:
                return call(*args)
            except sqlite3.OperationalError as error:
                # BUSY_SNAPSHOT (a stale read snapshot) has its own code: retrying cannot help.
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                    raise
                if waited_ms >= self._busy_timeout_ms:
                    raise
            delay_ms = BUSY_DELAYS_MS[min(attempt, len(BUSY_DELAYS_MS) - 1)]
            await asyncio.sleep(delay_ms / 1000)
            waited_ms += delay_ms
            attempt += 1

    def cursor(self) -> Cursor:
        return Cursor(self, self._conn.cursor())

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def commit(self) -> None:
        await self.run(self._conn.commit)

    async def rollback(self) -> None:
        await self.run(self._conn.rollback)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


class Cursor:
    """An ``aiosqlite.Cursor`` look-alike over one ``sqlite3.Cursor``."""

    def __init__(self, connection: Connection, raw: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = raw

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Cursor:
        await self._connection.run(self._cursor.execute, sql, parameters or ())
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        await self._connection.run(self._cursor.executemany, sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return await self._connection.run(self._cursor.fetchone)

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = self._cursor.arraysize if size is None else size
        return await self._connection.run(self._cursor.fetchmany, size)

    async def fetchall(self) -> list[Any]:
        return await self._connection.run(self._cursor.fetchall)

    async def __aiter__(self) -> AsyncIterator[Any]:
        while (row := await self.fetchone()) is not None:
            yield row

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _InlineQueue:
    """SQLAlchemy sets a connection's isolation level by putting ``(future, function)`` on
    aiosqlite's private call queue; here that call simply runs now."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:  # handed to the awaiting caller, as aiosqlite does
            if future is not None:
                future.set_exception(error)
            return
        if future is not None:
            future.set_result(result)
