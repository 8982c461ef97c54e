"""The transactional outbox: an app's events, written in the same transaction as the change
that caused them, and handed on by a drainer; nothing lost across a crash.

* ``Outbox(metadata, source="incidents")`` declares the ``outbox_events`` table in the app's
  own metadata; ``await outbox.emit(session, "incident.decided", {...})`` adds an event to the
  request's transaction: it exists if and only if the change committed. The events a
  transaction emits are written together, in one statement just before it commits, so
  a hot path that emits pays one cheap insert.
* :class:`OutboxDrainer` runs in every process of the app: it leases a batch of due events,
  hands them on (``send``: the services post them to the gateway's internal event intake,
  which is idempotent on the event id), and deletes them. A failed hand-over is tried again
  with exponential backoff; a process killed mid-batch leaves the rows leased, and any
  replica takes them over when the lease ends. So every event is handed on at least once,
  and the intake's idempotency makes that exactly once.
* A commit that emitted wakes the drainer of this process at once; other replicas find the
  events at their next poll.
* **Direct hand-over.** While a drainer runs in the process, the events a transaction
  writes are written already leased to it, and handed to it in memory once the commit
  is done: it sends them without claiming them from the table (one transaction, the
  delete, instead of a claim, a delete and a look at what is left). The table stays the
  truth: a process killed before it handed them on leaves them leased, and any replica
  claims them when the lease ends, as it does every event at its poll.
* **Deleted on the way.** What the running drainer handed on is deleted by the next
  transaction of this process that emits (one more statement in a transaction that
  writes anyway), or by the drainer itself once it has waited ``SETTLE_WITHIN`` for one;
  not a transaction of its own per hand-over. Until then the rows stay leased to this
  process: killed meanwhile (or that transaction rolled back), they are handed on again
  once the lease ends, and the intake's idempotency makes that change nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from itertools import groupby
from typing import Any

import httpx
from prometheus_client import Counter, Gauge
from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python
from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from kit.db import Database, UtcDateTime, call_after_commit, call_before_commit, utcnow
from kit.failpoints import crash_point
from kit.jobs import MAX_ERROR_LENGTH, Backoff, Handover, Loop, claim_due, seconds_until_due

logger = logging.getLogger("kit.outbox")

# Where the services post their events: the gateway's internal event intake.
INTAKE_PATH = "/internal/events"
LEASE = dt.timedelta(seconds=30)
BATCH_SIZE = 500
# How long handed-on rows wait for a commit that emits to delete them before the drainer
# deletes them itself: far inside LEASE, so no replica takes them meanwhile.
SETTLE_WITHIN_SECONDS = 0.5

OUTBOX_EVENTS = Counter(
    "smp_outbox_events_total",
    "Events handed on by the outbox drainer (delivered), or whose hand-over failed.",
    ["app", "outcome"],
)
OUTBOX_LAG_SECONDS = Gauge(
    "smp_outbox_lag_seconds",
    "Age of the oldest event still waiting in this app's outbox (0 when it is empty).",
    ["app"],
)


class Event(BaseModel):
    """The envelope every event travels in, from the outbox to the gateway and on to
    webhooks. ``data`` holds ids and the minimum a receiver needs, nothing confidential."""

    id: uuid.UUID = Field(description="Unique per event; receivers deduplicate on it.")
    type: str = Field(min_length=1, max_length=100, examples=["incident.decided"])
    source: str = Field(min_length=1, max_length=50, examples=["incidents"])
    occurred_at: dt.datetime
    data: dict[str, Any]


class EventBatch(BaseModel):
    events: list[Event] = Field(max_length=BATCH_SIZE)


def define_table(metadata: MetaData) -> Table:
    """The ``outbox_events`` table, declared in each app's own metadata."""
    return Table(
        "outbox_events",
        metadata,
        Column("id", Uuid, nullable=False),
        Column("type", String(100), nullable=False),
        Column("data", JSON, nullable=False),
        Column("occurred_at", UtcDateTime, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("next_attempt_at", UtcDateTime, nullable=False),
        Column("leased_until", UtcDateTime, nullable=True),
        Column("last_error", String(MAX_ERROR_LENGTH), nullable=True),
        PrimaryKeyConstraint("id"),
        Index("ix_outbox_events_next_attempt_at", "next_attempt_at"),
        Index("ix_outbox_events_occurred_at", "occurred_at"),
    )


class Outbox:
    """One app's outbox: its table and where its events come from."""

    def __init__(self, metadata: MetaData, *, source: str) -> None:
        self.table = define_table(metadata)
        self.source = source
        # Off only to measure what events cost (README "Events"): nothing is written.
        self.enabled = True
        self._on_commit: list[Callable[[], None]] = []
        # Events for the running drainer of this process, handed over after the commit.
        self.handover = Handover(LEASE)
        self._pending_key = f"kit_outbox_{source}"
        # Handed on by this process's drainer, rows not deleted yet (see module doc), and
        # since when the oldest of them waits (``time.monotonic``).
        self._settled: list[uuid.UUID] = []
        self._settled_since = 0.0
        self.delete_by_id = delete(self.table).where(self.table.c.id == bindparam("settled_id"))

    @contextlib.contextmanager
    def waking(self, callback: Callable[[], None]) -> Iterator[None]:
        """Within the block, call ``callback`` after every commit that emitted."""
        self._on_commit.append(callback)
        try:
            yield
        finally:
            self._on_commit.remove(callback)

    async def emit(
        self,
        session: AsyncSession,
        type: str,
        data: Mapping[str, Any],
        *,
        event_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Add the event to ``session``'s transaction (written when it commits); returns
        its id."""
        event_id = event_id or uuid.uuid4()
        if not self.enabled:
            return event_id
        now = utcnow()
        pending: list[dict[str, Any]] = session.sync_session.info.setdefault(self._pending_key, [])
        pending.append(
            {
                "id": event_id,
                "type": type,
                "data": to_jsonable_python(dict(data)),
                "occurred_at": now,
                "attempts": 0,
                "next_attempt_at": now,
            }
        )
        call_before_commit(session, self._write_pending)
        call_after_commit(session, self._committed)
        return event_id

    def _write_pending(self, session: Session) -> None:
        rows = session.info.pop(self._pending_key, None)
        if not rows:
            return
        self.handover.lease_rows(session, rows)
        session.execute(insert(self.table), rows)
        if settled := self.take_settled():
            session.execute(self.delete_by_id, [{"settled_id": id_} for id_ in settled])

    def settle(self, ids: Sequence[uuid.UUID]) -> None:
        """Events just handed on: their rows go with the next commit that emits."""
        if not self._settled:
            self._settled_since = time.monotonic()
        self._settled.extend(ids)

    def take_settled(self) -> list[uuid.UUID]:
        """The handed-on events whose rows are still to be deleted (now the caller's)."""
        settled, self._settled = self._settled, []
        return settled

    def seconds_to_settle(self) -> float | None:
        """How long the handed-on rows may still wait for a commit that emits (0: no
        longer); ``None`` when there are none."""
        if not self._settled:
            return None
        waited = time.monotonic() - self._settled_since
        return max(SETTLE_WITHIN_SECONDS - waited, 0.0)

    def _committed(self) -> None:
        for callback in self._on_commit:
            callback()


Send = Callable[[list[Event]], Awaitable[None]]


def send_to_gateway(gateway: httpx.AsyncClient) -> Send:
    """Hand events to the gateway's internal event intake (as this service's principal):
    any answer but a 2xx is a failed hand-over, tried again later."""

    async def send(events: list[Event]) -> None:
        body = EventBatch(events=events).model_dump(mode="json")
        response = await gateway.post(INTAKE_PATH, json=body)
        response.raise_for_status()

    return send


class OutboxDrainer:
    """Hands an app's events on, in batches, with leases and backoff (see module doc)."""

    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        *,
        send: Send,
        backoff: Backoff,
        poll_seconds: float,
        linger_seconds: float = 0.0,
        batch_size: int = BATCH_SIZE,
        lease: dt.timedelta = LEASE,
    ) -> None:
        self.database = database
        self.outbox = outbox
        self.send = send
        self.backoff = backoff
        self.batch_size = batch_size
        self.lease = lease
        self.loop = Loop(
            f"{outbox.source}-outbox",
            self._round,
            poll_seconds=poll_seconds,
            linger_seconds=linger_seconds,
        )
        self._delivered = OUTBOX_EVENTS.labels(outbox.source, "delivered")
        self._failed = OUTBOX_EVENTS.labels(outbox.source, "failed")
        self._lag = OUTBOX_LAG_SECONDS.labels(outbox.source)
        self.handover = outbox.handover

    @contextlib.asynccontextmanager
    async def running(self, *, enabled: bool = True) -> AsyncIterator[None]:
        """Drain in the background for the duration of the block (the app's lifespan),
        woken by every commit that emitted, which hands its events over directly."""
        if not enabled or not self.outbox.enabled:
            yield
            return
        with self.outbox.waking(self.loop.wake):
            try:
                async with self.loop.running(handovers=[self.handover]):
                    yield
            finally:
                await self._delete_settled()

    async def drain_once(self) -> int:
        """Hand on one batch of due events; how many were delivered (0: none due, or the
        hand-over failed and they wait for their next attempt)."""
        table = self.outbox.table
        async with self.database.transaction() as session:
            rows = await claim_due(
                session,
                table,
                limit=self.batch_size,
                lease=self.lease,
                order_by=(table.c.next_attempt_at, table.c.occurred_at),
            )
        if not rows:
            return 0
        return await self._hand_on(rows)

    async def _hand_on_handed(self, *, settle_later: bool = False) -> int:
        """Hand on what this process's commits handed over, without claiming it."""
        delivered = 0
        while batch := self.handover.take(self.batch_size):
            delivered += await self._hand_on(batch, settle_later=settle_later)
        return delivered

    async def _hand_on(self, rows: Sequence[Any], *, settle_later: bool = False) -> int:
        """Send leased ``rows`` and delete them (``settle_later``: with the next commit
        that emits, see module doc); on failure, free them for a later try."""
        events = [
            Event(
                id=row.id,
                type=row.type,
                source=self.outbox.source,
                occurred_at=row.occurred_at,
                data=row.data,
            )
            for row in rows
        ]
        try:
            await self.send(events)
        except Exception as error:
            logger.warning(
                "handing on %d %s events failed (%s); retrying later",
                len(rows),
                self.outbox.source,
                type(error).__name__,
            )
            await self._retry_later(rows, error=f"{type(error).__name__}: {error}")
            self._failed.inc(len(rows))
            # Look at the table again when the first of them is due.
            soonest = min(int(row.attempts) for row in rows) + 1
            self.handover.look_by(utcnow() + self.backoff.delay(soonest))
            return 0
        # A kill here hands the batch over again after the lease: the intake's idempotency
        # on the event id keeps that from telling anyone twice (tests/e2e).
        crash_point("outbox.handed_over")
        self._delivered.inc(len(rows))
        if settle_later:
            self.outbox.settle([row.id for row in rows])
        else:
            await self._delete([row.id for row in rows])
        return len(rows)

    async def _delete(self, ids: Sequence[uuid.UUID]) -> None:
        async with self.database.transaction() as session:
            await session.execute(self.outbox.delete_by_id, [{"settled_id": id_} for id_ in ids])

    async def _delete_settled(self) -> None:
        """Delete the rows of what was handed on that no commit took along. Should this
        fail, they are handed on again after their lease (the intake ignores repeats)."""
        if settled := self.outbox.take_settled():
            try:
                await self._delete(settled)
            except Exception:
                logger.exception("deleting %d handed-on events failed", len(settled))

    async def drain(self) -> int:
        """Hand on everything due now, batch after batch; how many were delivered."""
        total = await self._hand_on_handed()
        while True:
            delivered = await self.drain_once()
            total += delivered
            if delivered < self.batch_size:
                return total

    async def _retry_later(self, rows: Sequence[Any], *, error: str) -> None:
        table = self.outbox.table
        now = utcnow()
        by_attempts = sorted(rows, key=lambda row: int(row.attempts))
        async with self.database.transaction() as session:
            # One UPDATE per number of earlier attempts (usually one).
            for attempts, group in groupby(by_attempts, key=lambda row: int(row.attempts)):
                await session.execute(
                    update(table)
                    .where(table.c.id.in_([row.id for row in group]))
                    .values(
                        attempts=attempts + 1,
                        next_attempt_at=now + self.backoff.delay(attempts + 1),
                        leased_until=None,
                        last_error=error[:MAX_ERROR_LENGTH],
                    )
                )

    async def _round(self) -> float:
        # Woken by a commit: hand its events on (their rows go with the next commit that
        # emits), and look at the table only when it is time to (a poll, or a retry due);
        # every look also updates the lag.
        await self._hand_on_handed(settle_later=True)
        settle_in = self.outbox.seconds_to_settle()
        if settle_in == 0:
            await self._delete_settled()
            settle_in = None
        if wait := self.handover.time_to_look():
            return wait if settle_in is None else min(wait, settle_in)
        await self._delete_settled()  # what a look finds waiting is what truly waits
        await self.drain()
        table = self.outbox.table
        async with self.database.transaction(write=False) as session:
            oldest: dt.datetime | None = await session.scalar(select(func.min(table.c.occurred_at)))
            delay = await seconds_until_due(session, table, at_most=self.loop.poll_seconds)
        if oldest is not None and oldest.tzinfo is None:  # SQLite, from an aggregate
            oldest = oldest.replace(tzinfo=dt.UTC)
        self._lag.set(0 if oldest is None else max((utcnow() - oldest).total_seconds(), 0))
        self.handover.looked(next_in_seconds=delay)
        return delay
