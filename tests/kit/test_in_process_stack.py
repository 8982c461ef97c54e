"""The in-process test stack runs no background loop of its own.

Each test runs inside one connection per database that is rolled back afterwards; a loop
(an outbox drainer, a retention job, a janitor...) would use that connection at a moment of
its choosing and break the test running then, usually only on PostgreSQL and only once in a
full run. A new loop must be switched off in ``tests/support/stack.py`` and driven by hand
in the tests that need it.
"""

from __future__ import annotations

import asyncio

from tests.support.stack import StackHandle


async def test_nothing_runs_in_the_background(stack: StackHandle) -> None:
    others = [task.get_name() for task in asyncio.all_tasks() if task is not asyncio.current_task()]

    assert others == []
