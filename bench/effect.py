"""The programme-effect report at 10 000 people and 100 000 incidents (issue 19).

    .venv/bin/python -m bench.effect [--postgres] [--people 10000] [--incidents 100000]
                                     [--runs 5]

Starts the four apps as real processes on free loopback ports, each on a fresh database
(SQLite files, or PostgreSQL with ``--postgres``), migrated and seeded. Then it grows the
organisation: ``--people`` active people in the directory (ten departments), the seeded
core module assigned to two people in three (half of them completed it, half overdue),
and ``--incidents`` incidents spread over them (set-based inserts, as ``bench.lists``).
It times, as HR through the gateway, the p50 of ``--runs`` sequential
``GET /api/v1/training/reports/effect?quarters=4`` and ``.csv``: every figure needs the
directory, incidents' and coaching's aggregates and training's assignments.

Target: p50 within 3 s for each. Prints the figures and exits 1 when one misses it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

import gateway.models  # noqa: F401  (registers the tables)
import training.models  # noqa: F401
from bench import lists
from bench.stack import machine
from gateway.auth import sign_dev_token
from gateway.config import GatewaySettings
from gateway.db import Base as GatewayBase
from kit.demo import demo_person_id
from tests.support.databases import POSTGRES_ENV, create_databases, drop_databases
from tests.support.processes import started_processes
from training.db import Base as TrainingBase

TARGET_SECONDS = 3.0
LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
REPORT = "/api/v1/training/reports/effect"
BATCH = 2000
PEOPLE = GatewayBase.metadata.tables["people"]
MODULES = TrainingBase.metadata.tables["modules"]
ASSIGNMENTS = TrainingBase.metadata.tables["assignments"]
PROGRESS = TrainingBase.metadata.tables["module_progress"]


async def grow_people(url: str, people: int, now: dt.datetime) -> None:
    """People with the ids the grown incidents use (``UUID(int=i)``)."""
    engine = create_async_engine(url)
    rows = [
        {
            "id": uuid.UUID(int=i),
            "user_name": f"bench-{i}@northwind.example",
            "display_name": f"Bench Person {i}",
            "active": True,
            "department": f"Department {i % 10}",
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for i in range(people)
    ]
    async with engine.begin() as connection:
        for start in range(0, len(rows), BATCH):
            await connection.execute(insert(PEOPLE), rows[start : start + BATCH])
    await engine.dispose()


async def grow_assignments(url: str, people: int, now: dt.datetime) -> None:
    """Two people in three have the core module: half completed it, half are overdue."""
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        found = await connection.execute(select(MODULES.c.id).where(MODULES.c.core))
        module_id = found.scalars().first()
        assert module_id is not None, "the training seed has no core module"
        long_ago = now - dt.timedelta(days=400)
        assignments, progress = [], []
        for i in range(people):
            if i % 3 == 2:
                continue
            person = uuid.UUID(int=i)
            assignments.append(
                {
                    "id": uuid.uuid4(),
                    "module_id": module_id,
                    "person_id": person,
                    "department": f"Department {i % 10}",
                    "due_at": long_ago + dt.timedelta(days=30),
                    "created_at": long_ago,
                    "cycle": 0,
                }
            )
            if i % 3 == 0:
                progress.append(
                    {
                        "id": uuid.uuid4(),
                        "person_id": person,
                        "module_id": module_id,
                        "cycle": 0,
                        "started_at": long_ago,
                        "completed_at": long_ago + dt.timedelta(days=10),
                    }
                )
        for table, rows in ((ASSIGNMENTS, assignments), (PROGRESS, progress)):
            for start in range(0, len(rows), BATCH):
                await connection.execute(insert(table), rows[start : start + BATCH])
    await engine.dispose()


async def p50_seconds(client: httpx.AsyncClient, path: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = await client.get(path, params={"quarters": "4"})
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
    return statistics.median(times)


async def run(people: int, incidents: int, runs: int) -> int:
    now = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory(prefix="bench-effect-") as directory:
        databases = await asyncio.to_thread(
            create_databases, f"smp_bench_effect_{os.getpid()}", Path(directory)
        )
        settings = {
            "GATEWAY_RATE_LIMIT_PER_SECOND": "100000",
            "GATEWAY_RATE_LIMIT_BURST": "100000",
            **{f"{app}_LOG_LEVEL": "WARNING" for app in ("GATEWAY", "TRAINING", "INCIDENTS")},
            **{f"{app}_ACCESS_LOG": "false" for app in ("GATEWAY", "TRAINING", "INCIDENTS")},
        }
        incidents_engine = create_async_engine(databases.urls["incidents"])
        try:
            async with started_processes(databases, Path(directory), settings=settings) as stack:
                started = time.monotonic()
                await grow_people(databases.urls["gateway"], people, now)
                await grow_assignments(databases.urls["training"], people, now)
                lists.PEOPLE = people
                await lists.grow(incidents_engine, have=0, want=incidents, base=now)
                print(
                    f"backend: {databases.backend}; grown to {people} people and {incidents} "
                    f"incidents in {time.monotonic() - started:.1f} s"
                )
                token = sign_dev_token(GatewaySettings(), person_id=demo_person_id("hannah.hr"))
                async with httpx.AsyncClient(
                    base_url=stack.url("gateway"),
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=120,
                ) as client:
                    figures = {
                        path: await p50_seconds(client, path, runs)
                        for path in (REPORT, f"{REPORT}.csv")
                    }
        finally:
            await incidents_engine.dispose()
            await asyncio.to_thread(drop_databases, databases)
    missed = []
    for path, seconds in figures.items():
        ok = seconds <= TARGET_SECONDS
        print(
            f"GET {path}?quarters=4  p50 {seconds:.2f} s  target <= {TARGET_SECONDS} s  "
            f"{'ok' if ok else 'MISSED'}"
        )
        if not ok:
            missed.append(path)
    return 1 if missed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL, not SQLite")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(machine(), flush=True)
    if args.postgres:
        os.environ.setdefault(POSTGRES_ENV, LOCAL_POSTGRES)
    else:
        os.environ.pop(POSTGRES_ENV, None)
    sys.exit(asyncio.run(run(args.people, args.incidents, args.runs)))


if __name__ == "__main__":
    main()
