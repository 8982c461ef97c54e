"""Test databases: one per app, on SQLite by default or on PostgreSQL when
``TEST_POSTGRES_URL`` is set (then PostgreSQL is required: unreachable is a failure)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

import coaching.main
import gateway.main
import incidents.main
import training.main
from kit.db import Database
from kit.migrations import upgrade_to_head

APPS = ("gateway", "training", "coaching", "incidents")
ALEMBIC_INI = {
    "gateway": gateway.main.ALEMBIC_INI,
    "training": training.main.ALEMBIC_INI,
    "coaching": coaching.main.ALEMBIC_INI,
    "incidents": incidents.main.ALEMBIC_INI,
}
POSTGRES_ENV = "TEST_POSTGRES_URL"


def postgres_url() -> str | None:
    """e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``"""
    return os.environ.get(POSTGRES_ENV) or None


@dataclass(frozen=True)
class DatabaseSet:
    backend: str
    urls: dict[str, str]


async def _admin(url: str, statements: Iterable[str]) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def create_databases(prefix: str, directory: Path, apps: Iterable[str] = APPS) -> DatabaseSet:
    """Fresh, empty databases named ``{prefix}_{app}`` (SQLite files under ``directory``)."""
    apps = list(apps)
    base = postgres_url()
    if base is None:
        return DatabaseSet(
            "sqlite",
            {app: f"sqlite+aiosqlite:///{directory / f'{prefix}_{app}.db'}" for app in apps},
        )
    names = {app: f"{prefix}_{app}".lower() for app in apps}
    try:
        asyncio.run(
            _admin(
                base,
                [
                    statement
                    for name in names.values()
                    for statement in (
                        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                        f'CREATE DATABASE "{name}"',
                    )
                ],
            )
        )
    except (OSError, ConnectionError) as exc:
        raise RuntimeError(
            f"{POSTGRES_ENV} is set but PostgreSQL could not be reached at {base}: {exc}"
        ) from exc
    parsed = make_url(base)
    return DatabaseSet(
        "postgresql",
        {
            app: parsed.set(database=name).render_as_string(hide_password=False)
            for app, name in names.items()
        },
    )


def drop_databases(databases: DatabaseSet) -> None:
    base = postgres_url()
    if databases.backend != "postgresql" or base is None:
        return
    names = [make_url(url).database for url in databases.urls.values()]
    asyncio.run(_admin(base, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names]))


def migrate(databases: DatabaseSet) -> None:
    for app, url in databases.urls.items():
        upgrade_to_head(ALEMBIC_INI[app], url)


async def roll_back_afterwards(cleanup: contextlib.AsyncExitStack, database: Database) -> None:
    """Route every session of ``database`` through one connection whose transaction
    ``cleanup`` rolls back: a test's writes vanish without emptying tables."""
    connection = await cleanup.enter_async_context(database.engine.connect())
    transaction = await connection.begin()
    cleanup.push_async_callback(transaction.rollback)
    cleanup.callback(database.use_engine)
    database.use_connection(connection)
