"""The four apps as real processes for a benchmark: fresh databases (SQLite files, or
PostgreSQL with ``--postgres``), migrated and seeded, the gateway's rate limits raised and
the logs quiet, plus an engine on the incidents database for what the bench reads or grows
directly."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.databases import (
    APPS,
    POSTGRES_ENV,
    DatabaseSet,
    create_databases,
    drop_databases,
)
from tests.support.processes import ROOT, RunningStack, stack_environment, started_processes

LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
QUIET = {
    "GATEWAY_RATE_LIMIT_PER_SECOND": "100000",
    "GATEWAY_RATE_LIMIT_BURST": "100000",
    **{f"{app.upper()}_LOG_LEVEL": "WARNING" for app in APPS},
    **{f"{app.upper()}_ACCESS_LOG": "false" for app in APPS},
}


def reference_workload_ms() -> float:
    """A fixed pure-Python job, to compare this machine's speed with another's figures:
    VMs of the same size here have run it in 131 to 455 ms, and every CPU figure scales
    with it."""
    document = {"id": str(uuid.UUID(int=1)), "items": list(range(50)), "name": "coach"}
    start = time.process_time()
    for _ in range(20_000):
        json.loads(json.dumps(document))
    return (time.process_time() - start) * 1000


def machine() -> str:
    """The line a benchmark prints first, so that its figures can be read against others'."""
    return (
        f"{os.cpu_count()} CPUs; reference workload {reference_workload_ms():.0f} ms "
        f"(smaller is a faster machine); load average {os.getloadavg()[0]:.1f}"
    )


@dataclass(frozen=True)
class BenchStack:
    stack: RunningStack
    backend: str
    # The incidents database, outside the apps.
    incidents: AsyncEngine
    # Every app's database URL, for a bench that reads or grows another one.
    urls: dict[str, str]


@contextlib.asynccontextmanager
async def bench_stack(
    name: str, settings: dict[str, str] | None = None
) -> AsyncIterator[BenchStack]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as directory:
        # On a PostgreSQL server shared by several people, each names theirs with a prefix.
        prefix = os.environ.get("BENCH_DATABASE_PREFIX", "smp_bench")
        databases = await asyncio.to_thread(
            create_databases, f"{prefix}_{name}_{os.getpid()}", Path(directory)
        )
        engine = create_async_engine(databases.urls["incidents"])
        try:
            # One app at a time and without a deadline: on a busy machine four migrations at
            # once can take longer than the stack helper waits for one.
            for app in APPS:
                for command in ("migrate", "seed"):
                    await asyncio.to_thread(_run, databases, app, command)
            async with started_processes(
                databases, Path(directory), settings={**QUIET, **(settings or {})}, prepared=True
            ) as stack:
                yield BenchStack(stack, databases.backend, engine, dict(databases.urls))
        finally:
            await engine.dispose()
            await asyncio.to_thread(drop_databases, databases)


def _run(databases: DatabaseSet, app: str, command: str) -> None:
    env = stack_environment(databases, dict.fromkeys(APPS, 0))
    subprocess.run(
        [sys.executable, "-m", app, command],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def add_postgres_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL, not SQLite")


def choose_backend(args: argparse.Namespace) -> None:
    """``--postgres``: ``TEST_POSTGRES_URL``, else the local server; otherwise SQLite."""
    if args.postgres:
        os.environ.setdefault(POSTGRES_ENV, LOCAL_POSTGRES)
    else:
        os.environ.pop(POSTGRES_ENV, None)


@contextlib.contextmanager
def py_spy(pids: Mapping[str, int], directory: Path | None, prefix: str = "") -> Iterator[None]:
    """``py-spy record -f raw`` on each process while the block runs, when ``directory`` is
    given: ``DIRECTORY/<prefix><name>.txt`` each."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or "py-spy"
    recorders = [
        subprocess.Popen(
            [
                *(spy, "record", "-p", str(pid)),
                *("-f", "raw", "-r", "100", "-o", str(directory / f"{prefix}{name}.txt")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    ]
    try:
        yield
    finally:
        for recorder in recorders:
            recorder.send_signal(signal.SIGINT)
        for recorder in recorders:
            recorder.wait(timeout=60)
