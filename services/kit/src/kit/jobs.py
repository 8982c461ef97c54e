"""Background work kept as rows in the database and claimed with leases.

Work that must survive a restart (events to hand on, webhooks and e-mails to send,
reminders to look for) is a row with ``next_attempt_at`` and ``leased_until``. Any
replica claims due rows for a while (the lease), so two never work on one row at once,
and a row whose worker died (kill -9) is taken over when its lease ends. A failed attempt
is tried again later, with exponential backoff.

:class:`Loop` runs one kind of work in the background of an app: a round, then a sleep
until the next row is due, until it is woken (a request just queued work), or at most
``poll_seconds`` (work queued by another replica).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    MetaData,
    PrimaryKeyConstraint,
    Row,
    String,
    Table,
    and_,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from kit.db import Database, UtcDateTime, call_after_commit, utcnow
from kit.errors import ServiceUnavailable

logger = logging.getLogger("kit.jobs")

MAX_ERROR_LENGTH = 500


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential: ``base``, 2 x base, 4 x base, ... capped at ``cap`` seconds."""

    base_seconds: float
    cap_seconds: float

    def delay(self, attempts: int) -> dt.timedelta:
        seconds = self.base_seconds * 2 ** min(max(attempts - 1, 0), 40)
        return dt.timedelta(seconds=min(seconds, self.cap_seconds))


def is_free(table: Table, now: dt.datetime) -> ColumnElement[bool]:
    leased_until = table.c.leased_until
    return or_(leased_until.is_(None), leased_until < now)


async def claim_due(
    session: AsyncSession,
    table: Table,
    *,
    limit: int,
    lease: dt.timedelta,
    where: Sequence[ColumnElement[bool]] = (),
    order_by: Sequence[Any] = (),
) -> list[Row[Any]]:
    """Lease up to ``limit`` due rows of ``table`` (columns ``id``, ``next_attempt_at``,
    ``leased_until``) and return them.

    On PostgreSQL the candidates are locked ``FOR UPDATE SKIP LOCKED``, so replicas
    claiming at the same moment take different rows; on SQLite the claiming transaction
    holds the database's write lock. Either way the conditional UPDATE re-checks the lease,
    so a row is never claimed twice.
    """
    now = utcnow()
    due = and_(table.c.next_attempt_at <= now, is_free(table, now), *where)
    candidates = (
        select(table.c.id)
        .where(due)
        .order_by(*(order_by or (table.c.next_attempt_at,)))
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(await session.scalars(candidates))
    if not ids:
        return []
    result = await session.execute(
        update(table)
        .where(table.c.id.in_(ids), is_free(table, now))
        .values(leased_until=now + lease)
        .returning(*table.c)
    )
    return list(result.all())


async def seconds_until_due(
    session: AsyncSession, table: Table, *, at_most: float, where: Sequence[Any] = ()
) -> float:
    """How long until the next row of ``table`` can be claimed (at most ``at_most``); a row
    leased by another replica is not claimable before its lease ends."""
    ready_at = case(
        (table.c.leased_until > table.c.next_attempt_at, table.c.leased_until),
        else_=table.c.next_attempt_at,
    )
    first: dt.datetime | None = await session.scalar(select(func.min(ready_at)).where(*where))
    if first is None:
        return at_most
    if first.tzinfo is None:  # SQLite hands back a naive value from an expression
        first = first.replace(tzinfo=dt.UTC)
    return min(max((first - utcnow()).total_seconds(), 0.0), at_most)


# -- direct hand-over ----------------------------------------------------------------


class Handover:
    """Rows a transaction queues for work that a loop of this same process does (events
    to hand on, e-mails, webhook deliveries), handed to that loop in memory once the
    transaction has committed, so it need not claim them from the table.

    While the loop runs (:meth:`active`), :meth:`lease_rows` writes the rows already
    leased to this process and queues them for it after the commit (never if it rolls
    back); :meth:`take` gives them to the loop. The table stays the truth: rows of a
    process killed before it finished are claimed by any replica once their lease ends,
    and the loop itself looks at the table (for other replicas' rows, crashed ones and
    retries) only when :meth:`time_to_look` says so, not at every wake-up.
    """

    def __init__(self, lease: dt.timedelta) -> None:
        self.lease = lease
        self._active = False
        self._rows: list[SimpleNamespace] = []
        self._next_look = dt.datetime.min.replace(tzinfo=dt.UTC)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        self._active = True
        try:
            yield
        finally:
            self._active = False

    def lease_rows(
        self,
        session: AsyncSession | Session,
        rows: list[dict[str, Any]],
        *,
        context: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Before ``rows`` are inserted in ``session``'s transaction: lease them to this
        process's loop and hand them to it after the commit (nothing when it is not
        running here: the rows are claimed from the table as usual). ``context``, one
        per row: more the loop gets with each (what the transaction read to write it),
        so that it need not read it again."""
        if not self._active or not rows:
            return
        leased_until = utcnow() + self.lease
        for row in rows:
            row["leased_until"] = leased_until
        extras = context or [{}] * len(rows)
        call_after_commit(
            session,
            lambda: self._rows.extend(
                SimpleNamespace(**r, **x) for r, x in zip(rows, extras, strict=True)
            ),
        )

    def take(self, limit: int) -> list[SimpleNamespace]:
        taken, self._rows = self._rows[:limit], self._rows[limit:]
        return taken

    def time_to_look(self) -> float:
        """Seconds until the loop should look at the table again (0: now)."""
        return max((self._next_look - utcnow()).total_seconds(), 0.0)

    def looked(self, *, next_in_seconds: float) -> None:
        self._next_look = utcnow() + dt.timedelta(seconds=next_in_seconds)

    def look_by(self, when: dt.datetime) -> None:
        """Rows put back for a later attempt: look at the table by ``when`` at the latest."""
        self._next_look = min(self._next_look, when)


# -- schedules ------------------------------------------------------------------------


def define_schedule_table(metadata: MetaData) -> Table:
    """``scheduled_runs``: one row per periodic job (its name), leased by the replica
    that runs it, so a periodic job runs on one replica at a time."""
    return Table(
        "scheduled_runs",
        metadata,
        Column("name", String(100), nullable=False),
        Column("next_run_at", UtcDateTime, nullable=False),
        Column("leased_until", UtcDateTime, nullable=True),
        Column("last_run_at", UtcDateTime, nullable=True),
        PrimaryKeyConstraint("name"),
    )


async def claim_schedule(
    database: Database, table: Table, *, name: str, every: dt.timedelta, lease: dt.timedelta
) -> bool:
    """Whether this replica runs job ``name`` now: it is due and no other replica holds
    it. The row is created on first use."""
    now = utcnow()
    try:
        async with database.transaction() as session:
            row = (await session.execute(select(table).where(table.c.name == name))).first()
            if row is None:
                await session.execute(
                    table.insert().values(
                        name=name, next_run_at=now + every, leased_until=now + lease
                    )
                )
                return True
            claimed = await session.execute(
                update(table)
                .where(table.c.name == name, table.c.next_run_at <= now, is_free(table, now))
                .values(leased_until=now + lease, next_run_at=now + every, last_run_at=now)
            )
            return bool(getattr(claimed, "rowcount", 0))
    except IntegrityError:  # another replica created the row first: it runs this time
        return False


async def release_schedule(database: Database, table: Table, *, name: str) -> None:
    async with database.transaction() as session:
        await session.execute(update(table).where(table.c.name == name).values(leased_until=None))


async def retry_schedule(
    database: Database, table: Table, *, name: str, after: dt.timedelta
) -> None:
    """A claimed run could not be done (an upstream is away): free the lease and make the
    job due again after ``after`` rather than a whole period later."""
    async with database.transaction() as session:
        await session.execute(
            update(table)
            .where(table.c.name == name)
            .values(leased_until=None, next_run_at=utcnow() + after)
        )


# -- the loop ------------------------------------------------------------------------


class Loop:
    """Runs ``round`` again and again in the background: ``round`` returns how many
    seconds may pass before the next one (it is called again sooner when woken).

    ``linger_seconds``: once woken, wait that long before the round, so that under load
    one round takes the work of many commits (one claim, one hand-over, one record for a
    batch instead of one each) at the price of that much latency."""

    def __init__(
        self,
        name: str,
        round: Callable[[], Awaitable[float]],
        *,
        poll_seconds: float,
        linger_seconds: float = 0.0,
    ) -> None:
        self.name = name
        self.round = round
        self.poll_seconds = poll_seconds
        self.linger_seconds = linger_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Work was just queued: look now rather than at the next poll."""
        self._wake.set()

    @contextlib.asynccontextmanager
    async def running(
        self, *, enabled: bool = True, handovers: Sequence[Handover] = ()
    ) -> AsyncIterator[None]:
        """Run the loop for the duration of the block (the app's lifespan). ``handovers``:
        where this process's commits hand the loop its work directly (active meanwhile)."""
        if not enabled:
            yield
            return
        with contextlib.ExitStack() as active:
            for handover in handovers:
                active.enter_context(handover.active())
            task = asyncio.create_task(self._loop(), name=self.name)
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            delay = self.poll_seconds
            try:
                delay = min(await self.round(), self.poll_seconds)
            except Exception:  # the database may be briefly away; the loop must go on
                logger.exception("%s failed a round; retrying", self.name)
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
            if self._wake.is_set() and self.linger_seconds > 0:
                await asyncio.sleep(self.linger_seconds)


# Another service a scheduled job needs is away: the run is due again this soon.
SCHEDULED_RETRY_AFTER = dt.timedelta(seconds=10)


class ScheduledJob(Loop):
    """A job run every ``every`` by one replica at a time (a lease on its row of the app's
    schedule table). When another service the job needs is away (``ServiceUnavailable``,
    as on every start while the gateway comes up) the round is a warning and the run is
    due again in seconds rather than a whole period later."""

    def __init__(
        self, name: str, database: Database, schedule: Table, *, job: str, every: dt.timedelta
    ) -> None:
        super().__init__(name, self._round, poll_seconds=every.total_seconds())
        self.database = database
        self.schedule = schedule
        self.job = job
        self.every = every

    async def run_once(self) -> Any:
        raise NotImplementedError

    async def _round(self) -> float:
        claimed = await claim_schedule(
            self.database, self.schedule, name=self.job, every=self.every, lease=self.every
        )
        if not claimed:
            return self.every.total_seconds()
        try:
            await self.run_once()
        except ServiceUnavailable as exc:
            logger.warning(
                "%s waits for another service (%s); again in %d s",
                self.name,
                exc,
                SCHEDULED_RETRY_AFTER.total_seconds(),
            )
            await retry_schedule(
                self.database, self.schedule, name=self.job, after=SCHEDULED_RETRY_AFTER
            )
            return SCHEDULED_RETRY_AFTER.total_seconds()
        return self.every.total_seconds()
