"""The four apps as real processes, started as the images start them, for the tests that need
what only a process has: its log lines on stdout, its signal handling, its own registry of
metrics (in process, the four apps share one)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import httpx

from tests.e2e.conftest import ROOT, RunningStack, free_port, stack_environment
from tests.support.databases import APPS, DatabaseSet, create_databases, drop_databases

POLL_SECONDS = 0.05
READY_TIMEOUT_SECONDS = 60
EXIT_TIMEOUT_SECONDS = 30


def serve_command(app: str) -> list[str]:
    """What the Dockerfile's CMD and the Procfile run."""
    return [sys.executable, "-m", app, "serve"]


@asynccontextmanager
async def running_apps(
    directory: Path, *, apps: Sequence[str] = APPS, seed: bool = True
) -> AsyncIterator[RunningStack]:
    """Fresh databases, migrated (and seeded) for ``apps``; their processes started and
    ready. On the way out: SIGTERM whatever still runs, drop the databases."""
    prefix = f"smp_ops_{uuid.uuid4().hex[:8]}"
    # create_databases runs its own event loop (PostgreSQL): keep it off this one.
    databases = await asyncio.to_thread(create_databases, prefix, directory)
    try:
        async with _processes(databases, directory, apps=apps, seed=seed) as stack:
            yield stack
    finally:
        await asyncio.to_thread(drop_databases, databases)


@asynccontextmanager
async def _processes(
    databases: DatabaseSet, logs: Path, *, apps: Sequence[str], seed: bool
) -> AsyncIterator[RunningStack]:
    ports = {app: free_port() for app in APPS}
    env = stack_environment(databases, ports)
    for app in apps:
        env[f"{app.upper()}_LOG_LEVEL"] = "INFO"
        env[f"{app.upper()}_ACCESS_LOG"] = "true"
    stack = RunningStack(ports=ports, env=env, processes={}, logs=logs)
    await asyncio.gather(*(asyncio.to_thread(_prepare, stack, app, seed) for app in apps))
    log_files: list[IO[bytes]] = []
    try:
        log_files = [_start(stack, app) for app in apps]
        await asyncio.gather(*(_ready(stack, app) for app in apps))
        yield stack
    finally:
        for process in stack.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)  # a test may have left one frozen
                process.send_signal(signal.SIGTERM)
        for process in stack.processes.values():
            try:
                process.wait(timeout=EXIT_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in log_files:
            log.close()


def _start(stack: RunningStack, app: str) -> IO[bytes]:
    log = (stack.logs / f"{app}.log").open("wb")
    stack.processes[app] = subprocess.Popen(
        serve_command(app), env=stack.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    return log


def _prepare(stack: RunningStack, app: str, seed: bool) -> None:
    stack.command(app, "migrate")
    if seed:
        stack.command(app, "seed")


async def _ready(stack: RunningStack, app: str) -> None:
    process = stack.processes[app]

    async def is_ready(client: httpx.AsyncClient) -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{app} exited with {process.returncode}; see {stack.logs}")
        try:
            return (await client.get(stack.url(app) + "/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT_SECONDS
    async with httpx.AsyncClient(timeout=2) as client:
        while not await is_ready(client):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{app} not ready after {READY_TIMEOUT_SECONDS} s")
            await asyncio.sleep(POLL_SECONDS)


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
