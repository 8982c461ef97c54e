"""kit.outbox: events exist if and only if their transaction committed, are handed on in
batches, retried with backoff, and never handed on by two replicas at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import time_machine
from prometheus_client import REGISTRY
from sqlalchemy import MetaData, delete, func, select

from kit.db import Database, new_registry
from kit.jobs import Backoff
from kit.outbox import Event, Outbox, OutboxDrainer
from tests.support.databases import DatabaseSet, create_databases, drop_databases
from tests.support.polling import eventually

METADATA: MetaData = new_registry().metadata
OUTBOX = Outbox(METADATA, source="kit-test")


class Receiver:
    """Stands in for the gateway's intake: records what it was handed, or fails."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.fail = False
        self.block: asyncio.Event | None = None

    async def __call__(self, events: list[Event]) -> None:
        if self.block is not None:
            await self.block.wait()
        if self.fail:
            raise ConnectionError("intake unreachable")
        self.events.extend(events)


@pytest.fixture(scope="module")
def outbox_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseSet]:
    databases = create_databases(
        f"smp_outbox_{os.getpid()}", tmp_path_factory.mktemp("outbox"), apps=["outbox"]
    )
    yield databases
    drop_databases(databases)


@pytest.fixture
async def database(outbox_databases: DatabaseSet) -> AsyncIterator[Database]:
    database = Database(outbox_databases.urls["outbox"])
    async with database.engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield database
    async with database.transaction() as session:
        await session.execute(delete(OUTBOX.table))
    await database.dispose()


def drainer_for(
    database: Database, receiver: Receiver, *, base_seconds: float = 60, batch_size: int = 500
) -> OutboxDrainer:
    return OutboxDrainer(
        database,
        OUTBOX,
        send=receiver,
        backoff=Backoff(base_seconds, 3600),
        poll_seconds=30,
        batch_size=batch_size,
    )


async def emit(database: Database, count: int = 1, *, kind: str = "thing.happened") -> None:
    async with database.transaction() as session:
        for number in range(count):
            await OUTBOX.emit(session, kind, {"thing_id": uuid.uuid4(), "number": number})


async def waiting(database: Database) -> int:
    async with database.transaction(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(OUTBOX.table)) or 0)


class TestEmit:
    async def test_a_committed_event_is_handed_on_once_with_its_envelope(
        self, database: Database
    ) -> None:
        receiver = Receiver()
        thing = uuid.uuid4()
        async with database.transaction() as session:
            event_id = await OUTBOX.emit(session, "thing.created", {"thing_id": thing})

        delivered = await drainer_for(database, receiver).drain()
        again = await drainer_for(database, receiver).drain()

        assert (delivered, again) == (1, 0)
        [event] = receiver.events
        assert event.id == event_id
        assert (event.type, event.source) == ("thing.created", "kit-test")
        assert event.data == {"thing_id": str(thing)}
        assert await waiting(database) == 0

    async def test_an_event_of_a_rolled_back_transaction_never_leaves(
        self, database: Database
    ) -> None:
        receiver = Receiver()

        async def failing_change() -> None:
            async with database.transaction() as session:
                await OUTBOX.emit(session, "thing.created", {"thing_id": uuid.uuid4()})
                raise RuntimeError("the change failed")

        with pytest.raises(RuntimeError):
            await failing_change()

        assert await drainer_for(database, receiver).drain() == 0
        assert receiver.events == []

    async def test_many_events_leave_in_batches(self, database: Database) -> None:
        receiver = Receiver()
        await emit(database, 1203)

        delivered = await drainer_for(database, receiver, batch_size=500).drain()

        assert delivered == 1203
        assert len({event.id for event in receiver.events}) == 1203


class TestRetries:
    async def test_a_failed_hand_over_is_kept_and_tried_again_after_the_backoff(
        self, database: Database
    ) -> None:
        receiver = Receiver()
        drainer = drainer_for(database, receiver, base_seconds=60)
        await emit(database, 3)
        receiver.fail = True

        assert await drainer.drain() == 0
        receiver.fail = False
        assert await drainer.drain() == 0  # not due yet: the backoff holds it
        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=61)):
            assert await drainer.drain() == 3

        assert len(receiver.events) == 3

    async def test_backoff_doubles_with_each_failed_attempt(self, database: Database) -> None:
        receiver = Receiver()
        receiver.fail = True
        drainer = drainer_for(database, receiver, base_seconds=10)
        await emit(database)
        start = dt.datetime.now(dt.UTC)

        delays = []
        for hop in (0, 11, 32, 73):  # just past each due time: 10 s, then 20 s, then 40 s
            with time_machine.travel(start + dt.timedelta(seconds=hop)):
                await drainer.drain()
            async with database.transaction(write=False) as session:
                row = (await session.execute(select(OUTBOX.table))).one()
            delays.append(round((row.next_attempt_at - start).total_seconds()) - hop)

        assert delays == [10, 20, 40, 80]
        assert row.attempts == 4
        assert "intake unreachable" in row.last_error


class TestReplicas:
    async def test_two_replicas_draining_at_once_hand_each_event_on_once(
        self, database: Database, outbox_databases: DatabaseSet
    ) -> None:
        await emit(database, 2000)
        other = Database(outbox_databases.urls["outbox"])
        receiver = Receiver()
        try:
            first, second = await asyncio.gather(
                drainer_for(database, receiver, batch_size=100).drain(),
                drainer_for(other, receiver, batch_size=100).drain(),
            )
        finally:
            await other.dispose()

        ids = [event.id for event in receiver.events]
        assert first + second == 2000
        assert len(ids) == len(set(ids)) == 2000

    async def test_a_batch_whose_drainer_died_is_taken_over_when_its_lease_ends(
        self, database: Database
    ) -> None:
        stuck = Receiver()
        stuck.block = asyncio.Event()  # never set: the hand-over hangs, as if killed
        await emit(database, 5)
        dying = asyncio.create_task(drainer_for(database, stuck).drain())
        await eventually(lambda: _all_leased(database, 5), what="the batch to be leased")
        dying.cancel()  # the process is gone; its lease is still on the rows
        receiver = Receiver()

        assert await drainer_for(database, receiver).drain() == 0
        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=31)):
            assert await drainer_for(database, receiver).drain() == 5


class TestDirectHandOver:
    async def test_a_running_drainer_gets_the_events_of_its_process_without_a_claim(
        self, database: Database
    ) -> None:
        receiver = Receiver()
        drainer = drainer_for(database, receiver)
        claims: list[int] = []
        original = drainer.drain_once

        async def counted() -> int:
            claims.append(1)
            return await original()

        drainer.drain_once = counted  # type: ignore[method-assign]
        async with drainer.running():
            await asyncio.sleep(0.05)  # the first round looked at the table: nothing
            looked = len(claims)
            await emit(database, 3)
            await eventually(lambda: len(receiver.events) == 3, what="the events", seconds=5)
            await eventually(lambda: _outbox_empty(database), what="the rows deleted", seconds=5)

        assert len(claims) == looked  # handed over in memory, never claimed

    async def test_events_of_a_process_that_died_before_handing_them_on_wait_for_their_lease(
        self, database: Database
    ) -> None:
        receiver = Receiver()
        with OUTBOX.handover.active():  # its drainer ran, and died before its round
            await emit(database)
        OUTBOX.handover.take(1000)  # with the process's memory
        other = drainer_for(database, receiver)  # another replica

        leased = await other.drain()
        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=31)):
            taken_over = await other.drain()

        assert (leased, taken_over) == (0, 1)
        assert len(receiver.events) == 1


class TestBackgroundLoop:
    async def test_a_commit_that_emitted_wakes_the_drainer_at_once(
        self, database: Database
    ) -> None:
        receiver = Receiver()
        drainer = drainer_for(database, receiver)  # polls only every 30 s
        async with drainer.running():
            await asyncio.sleep(0.05)  # the first round found nothing and sleeps
            await emit(database)
            await eventually(lambda: bool(receiver.events), what="the event", seconds=5)

        assert len(receiver.events) == 1

    async def test_the_lag_metric_shows_the_age_of_the_oldest_waiting_event(
        self, database: Database
    ) -> None:
        receiver = Receiver()
        receiver.fail = True
        await emit(database)
        drainer = drainer_for(database, receiver)

        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90)):
            await drainer._round()
        lag = REGISTRY.get_sample_value("smp_outbox_lag_seconds", {"app": "kit-test"})

        assert lag is not None
        assert 89 <= lag <= 95
        receiver.fail = False
        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)):
            await drainer._round()
        assert REGISTRY.get_sample_value("smp_outbox_lag_seconds", {"app": "kit-test"}) == 0


async def _outbox_empty(database: Database) -> bool:
    async with database.transaction(write=False) as session:
        return not await session.scalar(select(func.count()).select_from(OUTBOX.table))


async def _all_leased(database: Database, count: int) -> bool:
    async with database.transaction(write=False) as session:
        leased = await session.scalar(
            select(func.count())
            .select_from(OUTBOX.table)
            .where(OUTBOX.table.c.leased_until.is_not(None))
        )
    return leased == count
