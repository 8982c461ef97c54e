"""kit.reminders: each notice is given once, with what it writes, even when a round stops
half-way or two replicas run one at the same moment; the schedule runs it on one replica."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import Column, MetaData, String, Table, Uuid, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import Database, UtcDateTime, new_registry, utcnow
from kit.jobs import define_schedule_table
from kit.outbox import Outbox
from kit.reminders import (
    ReminderJob,
    ReminderRule,
    define_notice_table,
    not_noticed,
    record_notices,
)
from tests.support.databases import DatabaseSet, create_databases, drop_databases

METADATA: MetaData = new_registry().metadata
OUTBOX = Outbox(METADATA, source="kit-test")
SCHEDULE = define_schedule_table(METADATA)
NOTICES = define_notice_table(METADATA)
DUES = Table(
    "dues",
    METADATA,
    Column("id", Uuid, primary_key=True),
    Column("name", String(50)),
    Column("due_at", UtcDateTime, nullable=False),
)


@pytest.fixture(scope="module")
def reminder_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseSet]:
    databases = create_databases(
        f"smp_reminders_{os.getpid()}", tmp_path_factory.mktemp("reminders"), apps=["reminders"]
    )
    yield databases
    drop_databases(databases)


@pytest.fixture
async def database(reminder_databases: DatabaseSet) -> AsyncIterator[Database]:
    database = Database(reminder_databases.urls["reminders"])
    async with database.engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield database
    async with database.transaction() as session:
        for table in (OUTBOX.table, NOTICES, SCHEDULE, DUES):
            await session.execute(delete(table))
    await database.dispose()


class Crash(RuntimeError):
    pass


def overdue_rule(*, crash_after: int | None = None) -> ReminderRule:
    """Emits ``thing.overdue`` for each due row not told yet; ``crash_after`` raises after
    that many events, inside the batch's transaction."""

    async def apply(session: AsyncSession, now: dt.datetime, limit: int) -> int:
        rows = (
            await session.execute(
                select(DUES.c.id)
                .where(DUES.c.due_at <= now, not_noticed(NOTICES, DUES.c.id, "overdue"))
                .order_by(DUES.c.due_at)
                .limit(limit)
            )
        ).all()
        for number, row in enumerate(rows):
            if crash_after is not None and number == crash_after:
                raise Crash("killed half-way")
            await OUTBOX.emit(session, "thing.overdue", {"id": row.id})
        await record_notices(session, NOTICES, kind="overdue", subject_ids=[r.id for r in rows])
        return len(rows)

    return ReminderRule("overdue", apply)


def job(
    database: Database, rule: ReminderRule, *, batch: int = 2, max_per_round: int = 1000
) -> ReminderJob:
    return ReminderJob(
        "kit-test",
        database,
        SCHEDULE,
        rules=[rule],
        every=dt.timedelta(minutes=5),
        batch=batch,
        max_per_round=max_per_round,
    )


async def add_dues(database: Database, count: int) -> None:
    past = utcnow() - dt.timedelta(hours=1)
    async with database.transaction() as session:
        await session.execute(
            insert(DUES),
            [{"id": uuid.uuid4(), "name": f"d{n}", "due_at": past} for n in range(count)],
        )


async def events(database: Database) -> list[str]:
    async with database.transaction(write=False) as session:
        return [str(row.data["id"]) for row in await session.execute(select(OUTBOX.table))]


class TestReminderJob:
    async def test_every_due_subject_is_told_once_batch_after_batch(
        self, database: Database
    ) -> None:
        await add_dues(database, 5)

        first = await job(database, overdue_rule()).run_once()
        again = await job(database, overdue_rule()).run_once()

        assert first == {"overdue": 5}
        assert again == {"overdue": 0}
        told = await events(database)
        assert len(told) == len(set(told)) == 5

    async def test_a_round_that_stops_half_way_is_continued_without_repeats(
        self, database: Database
    ) -> None:
        await add_dues(database, 3)

        with pytest.raises(Crash):
            await job(database, overdue_rule(crash_after=1), batch=10).run_once()
        assert await events(database) == []  # the batch's events went with its notices
        await job(database, overdue_rule()).run_once()

        told = await events(database)
        assert len(told) == len(set(told)) == 3

    async def test_a_backlog_goes_out_over_rounds_at_most_max_per_round_each(
        self, database: Database
    ) -> None:
        await add_dues(database, 7)
        capped = job(database, overdue_rule(), batch=2, max_per_round=3)

        rounds = [await capped.run_once() for _ in range(4)]

        assert rounds == [{"overdue": 3}, {"overdue": 3}, {"overdue": 1}, {"overdue": 0}]
        told = await events(database)
        assert len(told) == len(set(told)) == 7

    async def test_not_due_yet_is_not_told(self, database: Database) -> None:
        await add_dues(database, 1)

        counts = await job(database, overdue_rule()).run_once(now=utcnow() - dt.timedelta(days=1))

        assert counts == {"overdue": 0}
        assert await events(database) == []


class TestSchedule:
    async def test_two_replicas_one_round(self, database: Database) -> None:
        await add_dues(database, 2)
        first, second = job(database, overdue_rule()), job(database, overdue_rule())

        await first._round()
        await add_dues(database, 1)
        await second._round()  # the schedule's next run is 5 minutes away: it does nothing

        assert len(await events(database)) == 2
