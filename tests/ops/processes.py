"""The four apps as real processes for the tests that need what only a process has: its
log lines on stdout, its signal handling, its own registry of metrics (in process, the four
apps share one)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.support.databases import APPS, create_databases, drop_databases
from tests.support.processes import (
    EXIT_TIMEOUT_SECONDS,
    POLL_SECONDS,
    RunningStack,
    serve_command,
    started_processes,
)

__all__ = ["EXIT_TIMEOUT_SECONDS", "log_lines", "poll", "running_apps", "serve_command"]


@asynccontextmanager
async def running_apps(
    directory: Path,
    *,
    apps: Sequence[str] = APPS,
    seed: bool = True,
    settings: Mapping[str, str] | None = None,
) -> AsyncIterator[RunningStack]:
    """Fresh databases, migrated (and seeded) for ``apps``; their processes started and
    ready. On the way out: SIGTERM whatever still runs, drop the databases."""
    prefix = f"smp_ops_{uuid.uuid4().hex[:8]}"
    # create_databases runs its own event loop (PostgreSQL): keep it off this one.
    databases = await asyncio.to_thread(create_databases, prefix, directory)
    try:
        async with started_processes(
            databases, directory, apps=apps, seed=seed, app_logs=True, settings=settings
        ) as stack:
            yield stack
    finally:
        await asyncio.to_thread(drop_databases, databases)


def log_lines(stack: RunningStack, app: str) -> list[dict[str, Any]]:
    """Every line the app has written so far, each parsed as JSON (a line that is not
    JSON fails the test: ops' log shipper could not read it)."""
    text = (stack.logs / f"{app}.log").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def poll(condition: Callable[[], bool], *, what: str, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"still waiting after {seconds} s for {what}")
        await asyncio.sleep(POLL_SECONDS)
