"""Policy acknowledgement renewal at scale (issue 19, point 3).

    .venv/bin/python -m bench.ack_renewal [--people 10000] [--postgres]

On a fresh training database (a SQLite file, or with ``--postgres`` a throw-away database
on ``TEST_POSTGRES_URL`` or the local server), ``--people`` acknowledgements of a policy
valid 12 months, half of them expiring within the lead time. It times, in-process, the
reconciliation's request (``policy.renewal.request_renewals``: asks half, one event each),
the same pass again (asks nobody), then, once the asked ones lapsed, the first page of
``training_overdue`` signals, the reports' latest acknowledgements of everyone, and the
reminder job (``training.reminders``): its first round (the most lapse notices a round
gives, one event each), then a round once every lapse was told (nothing to say: the cost
of every round after; on PostgreSQL again once the tables are analysed).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import time_machine
from sqlalchemy import insert, text, update
from sqlmodel import col

from bench.stack import machine
from kit.db import Database, utcnow
from kit.pagination import PageParams
from kit.reminders import ReminderJob
from tests.support.databases import POSTGRES_ENV, create_databases, drop_databases, migrate
from training.assignments.schemas import SignalReason
from training.assignments.signals import list_signals
from training.db import scheduled_runs
from training.policy.models import Acknowledgement, Policy, PolicyVersion, VersionStatus
from training.policy.renewal import latest_acknowledgements, request_renewals
from training.reminders import rules

LEAD = dt.timedelta(days=30)
LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def timed(label: str, work: Callable[[], Awaitable[Any]]) -> Any:
    started = time.perf_counter()
    result = await work()
    print(f"  {label}: {(time.perf_counter() - started) * 1000:.0f} ms")
    return result


async def setup(database: Database, people: int) -> tuple[PolicyVersion, list[uuid.UUID]]:
    now = utcnow()
    async with database.transaction() as session:
        policy = Policy(title="Social media policy")
        session.add(policy)
        await session.flush()
        version = PolicyVersion(
            policy_id=policy.id,
            number=1,
            status=VersionStatus.PUBLISHED,
            body_markdown="# Policy",
            renew_acknowledgement_every_months=12,
            published_at=now,
        )
        session.add(version)
        await session.flush()
        ids = [uuid.uuid4() for _ in range(people)]
        await session.execute(
            insert(Acknowledgement),
            [
                {
                    "id": uuid.uuid4(),
                    "version_id": version.id,
                    "person_id": person_id,
                    "acknowledged_at": now,
                    "cycle": 0,
                    # Every other one expires within the lead time.
                    "expires_at": now + dt.timedelta(days=10 if i % 2 else 200),
                }
                for i, person_id in enumerate(ids)
            ],
        )
    return version, ids


async def run(url: str, people: int) -> None:
    database = Database(url)
    version, ids = await setup(database, people)
    active = set(ids)
    print(f"{database.backend}, {people} acknowledgements:")

    async def request() -> int:
        async with database.transaction() as session:
            return await request_renewals(session, active=active, now=utcnow(), lead=LEAD)

    asked = await timed("request renewals", request)
    again = await timed("the same pass again", request)
    async with database.transaction() as session:
        await session.execute(
            update(Acknowledgement)
            .where(col(Acknowledgement.renewal_requested_at).is_not(None))
            .values(expires_at=utcnow() - dt.timedelta(days=1))
        )

    async def signals() -> int:
        async with database.transaction(write=False) as session:
            items, _ = await list_signals(
                session,
                page=PageParams(limit=50, cursor=None),
                reason=SignalReason.TRAINING_OVERDUE,
                person_ids=None,
            )
        return len(items)

    async def latest() -> int:
        async with database.transaction(write=False) as session:
            found = await latest_acknowledgements(session, version=version, person_ids=ids)
        return len(found)

    job = ReminderJob(
        "training", database, scheduled_runs, rules=rules(reminder_days=3), every=LEAD
    )
    with time_machine.travel(utcnow() + dt.timedelta(days=15)):
        page = await timed("first page of overdue signals", signals)
        everyone = await timed("latest acknowledgements of everyone (reports)", latest)
        first = await timed("first reminder round", job.run_once)
        while any((await job.run_once()).values()):
            pass
        idle = await timed("a reminder round with nothing to say", job.run_once)
        if database.backend == "postgresql":
            # The tables were bulk-loaded a moment ago: the planner's statistics still
            # describe them empty until autovacuum analyses them, as it soon would.
            async with database.transaction() as session:
                await session.execute(text("ANALYZE"))
            await timed("the same, once analysed", job.run_once)
    await database.engine.dispose()
    print(f"  asked {asked}, then {again}; a page of {page} signals; {everyone} people")
    told = first["acknowledgement_overdue"]
    print(f"  lapses told: {told} in the first round, then {sum(idle.values())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--prefix", default="smp_bench_ack_renewal", help="database name")
    args = parser.parse_args()
    print(machine(), flush=True)
    if args.postgres:
        os.environ.setdefault(POSTGRES_ENV, LOCAL_POSTGRES)
    else:
        os.environ.pop(POSTGRES_ENV, None)
    with tempfile.TemporaryDirectory() as directory:
        databases = create_databases(f"{args.prefix}_{os.getpid()}", Path(directory), ["training"])
        try:
            migrate(databases)
            asyncio.run(run(databases.urls["training"], args.people))
        finally:
            drop_databases(databases)


if __name__ == "__main__":
    main()
