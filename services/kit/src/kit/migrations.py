"""Alembic, run as a step (``python -m <app> migrate``), never hidden in app start-up.

Each app keeps ``alembic.ini`` and ``migrations/`` next to its ``src/``; its ``env.py`` is
two lines that call :func:`run_env` with the app's metadata.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import create_engine


def alembic_config(alembic_ini: Path, database_url: str | None = None) -> Config:
    config = Config(str(alembic_ini))
    if database_url is not None:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_to_head(alembic_ini: Path, database_url: str) -> None:
    command.upgrade(alembic_config(alembic_ini, database_url), "head")


def head_revisions(alembic_ini: Path) -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config(alembic_ini)).get_heads())


async def current_revisions(session: AsyncSession) -> frozenset[str]:
    try:
        rows = await session.execute(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:
        return frozenset()
    return frozenset(row[0] for row in rows)


def _configure(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str, metadata: MetaData) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure, metadata)
            await connection.commit()
    finally:
        await engine.dispose()


def run_env(metadata: MetaData, default_url: Callable[[], str]) -> None:
    """The body of every ``env.py``. ``default_url`` reads the app's settings, used when
    alembic is run by hand (``alembic revision --autogenerate``)."""
    url = context.config.get_main_option("sqlalchemy.url") or default_url()
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, metadata))
