"""Fixtures every test package shares.

* ``stack``: the four real apps wired together; each test runs inside a transaction per
  database that is rolled back afterwards.
* ``committed_stack``: the same apps on their real connection pools, for tests that need
  real concurrency (two requests racing); every table is emptied afterwards.

The databases are created and migrated once per run: SQLite files by default, PostgreSQL
databases when ``TEST_POSTGRES_URL`` is set (see ``tests/support/databases.py``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.databases import (
    APPS,
    DatabaseSet,
    create_databases,
    drop_databases,
    migrate,
    roll_back_afterwards,
)
from tests.support.stack import Stack, StackHandle, running_stack, truncate_all


@pytest.fixture(scope="session")
def test_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseSet]:
    databases = create_databases(f"smp_test_{os.getpid()}", tmp_path_factory.mktemp("databases"))
    migrate(databases)
    yield databases
    drop_databases(databases)


@pytest.fixture(scope="session")
async def running(test_databases: DatabaseSet) -> AsyncIterator[Stack]:
    async with running_stack(test_databases) as stack:
        yield stack


@pytest.fixture
async def stack(running: Stack) -> AsyncIterator[StackHandle]:
    handle = StackHandle(running)
    async with contextlib.AsyncExitStack() as cleanup:
        for app in APPS:
            await roll_back_afterwards(cleanup, running.database(app))
        cleanup.push_async_callback(handle.close)
        yield handle


@pytest.fixture
async def committed_stack(running: Stack) -> AsyncIterator[StackHandle]:
    handle = StackHandle(running)
    try:
        yield handle
    finally:
        await handle.close()
        await truncate_all(running)
