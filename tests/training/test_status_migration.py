"""The migration that puts the progress on the assignment row fills it in for the
assignments that already exist, so the status filters answer as before right after it."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

import training.main
from kit.migrations import alembic_config
from tests.support.databases import DatabaseSet, create_databases, drop_databases
from training.assignments.models import Assignment, ModuleProgress
from training.modules.models import Module

BEFORE = "7c3e1d9a5b20"
# The tables as the app maps them; only the columns that exist before the migration are written.
MODULES: Table = Module.__table__  # type: ignore[attr-defined]
ASSIGNMENTS: Table = Assignment.__table__  # type: ignore[attr-defined]
PROGRESS: Table = ModuleProgress.__table__  # type: ignore[attr-defined]
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseSet]:
    databases = create_databases(
        f"smp_lst_migration_{os.getpid()}", tmp_path_factory.mktemp("mig"), apps=["training"]
    )
    yield databases
    drop_databases(databases)


def assignment(module_id: uuid.UUID, person_id: uuid.UUID) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "module_id": module_id,
        "person_id": person_id,
        "due_at": NOW + dt.timedelta(days=10),
        "created_at": NOW,
        "cycle": 0,
    }


async def test_existing_assignments_take_their_progress(database: DatabaseSet) -> None:
    url = database.urls["training"]
    config = alembic_config(training.main.ALEMBIC_INI, url)
    # Alembic's env runs its own event loop: off this one.
    await asyncio.to_thread(command.upgrade, config, BEFORE)
    module_id, done, started, untouched = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(
            insert(MODULES).values(
                id=module_id,
                lineage_id=module_id,
                number=1,
                title="Posting",
                summary="",
                body_markdown="",
                core=False,
                status="published",
                created_at=NOW,
                updated_at=NOW,
                version=1,
            )
        )
        rows = [assignment(module_id, person) for person in (done, started, untouched)]
        columns = ASSIGNMENTS.c
        await connection.execute(
            insert(ASSIGNMENTS).values(
                [{columns[name]: value for name, value in row.items()} for row in rows]
            )
        )
        await connection.execute(
            insert(PROGRESS),
            [
                {
                    "id": uuid.uuid4(),
                    "person_id": done,
                    "module_id": module_id,
                    "cycle": 0,
                    "started_at": NOW,
                    "completed_at": NOW + dt.timedelta(hours=1),
                },
                {
                    "id": uuid.uuid4(),
                    "person_id": started,
                    "module_id": module_id,
                    "cycle": 0,
                    "started_at": NOW,
                    "completed_at": None,
                },
            ],
        )
    await asyncio.to_thread(command.upgrade, config, "head")
    async with engine.connect() as connection:
        after = {
            row.person_id: (row.started_at, row.completed_at)
            for row in await connection.execute(
                select(columns.person_id, columns.started_at, columns.completed_at)
            )
        }
    await engine.dispose()

    assert after == {
        done: (NOW, NOW + dt.timedelta(hours=1)),
        started: (NOW, None),
        untouched: (None, None),
    }
