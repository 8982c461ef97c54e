"""Reminders and deadlines: a periodic job per service that finds what has come close to
its date or gone past it and says so once, on one replica at a time (a leased schedule,
``kit.jobs``).

A service gives the rules (:class:`ReminderRule`: a name and a function that handles one
batch of due subjects at ``now`` and returns how many it handled). A rule records each
notice in the ``notices_sent`` table (:func:`define_notice_table`, keyed on the subject and
the kind of notice) in the same transaction as the event it emits (``kit.outbox``) and
whatever else it writes, and selects only subjects without that notice. So a round that
stops half-way (kill -9) is continued by the next one and nothing is said twice: the
notice, its event and its record commit together or not at all, and a second replica
running the same batch at once fails on the notice's key and rolls back its batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from sqlalchemy import (
    Column,
    ColumnElement,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    and_,
    exists,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import Database, UtcDateTime, utcnow
from kit.jobs import ScheduledJob

logger = logging.getLogger("kit.reminders")

BATCH = 200
# Notices one rule gives in one round at most: a backlog (a job off for a week, a bulk
# import of past-due assignments) goes out over several rounds instead of as one flood of
# mail and webhooks; what is left is the oldest due first next round.
MAX_PER_ROUND = 1000
JOB = "reminders"
NOTICES = Counter(
    "smp_notices_total",
    "Reminders and missed-deadline notices emitted by the reminders job, per rule.",
    ["app", "rule"],
)


def define_notice_table(metadata: MetaData) -> Table:
    """``notices_sent``: one row per notice given (``kind``) about one subject (an
    assignment, a decision): the record that makes each notice once."""
    return Table(
        "notices_sent",
        metadata,
        Column("subject_id", Uuid, nullable=False),
        Column("kind", String(50), nullable=False),
        Column("at", UtcDateTime, nullable=False),
        PrimaryKeyConstraint("subject_id", "kind"),
    )


def not_noticed(table: Table, subject_id: Any, kind: str) -> ColumnElement[bool]:
    """The condition "no ``kind`` notice was given about ``subject_id`` yet"."""
    return ~exists(
        select(table.c.subject_id).where(
            and_(table.c.subject_id == subject_id, table.c.kind == kind)
        )
    )


async def record_notices(
    session: AsyncSession, table: Table, *, kind: str, subject_ids: Iterable[uuid.UUID]
) -> None:
    now = utcnow()
    rows = [{"subject_id": subject_id, "kind": kind, "at": now} for subject_id in subject_ids]
    if rows:
        await session.execute(insert(table), rows)


@dataclass(frozen=True, slots=True)
class ReminderRule:
    """``apply(session, now, limit)`` gives at most ``limit`` due notices; their count."""

    name: str
    apply: Callable[[AsyncSession, dt.datetime, int], Awaitable[int]]


class ReminderJob(ScheduledJob):
    """Runs every rule, batch by batch, every ``every`` on the replica that holds the
    schedule's lease; each rule gives at most ``max_per_round`` notices a round."""

    def __init__(
        self,
        app: str,
        database: Database,
        schedule: Table,
        *,
        rules: Sequence[ReminderRule],
        every: dt.timedelta,
        batch: int = BATCH,
        max_per_round: int = MAX_PER_ROUND,
    ) -> None:
        super().__init__(f"{app}-reminders", database, schedule, job=JOB, every=every)
        self.app = app
        self.rules = rules
        self.batch = batch
        self.max_per_round = max_per_round

    async def run_once(self, *, now: dt.datetime | None = None) -> dict[str, int]:
        """Give every notice due at ``now`` (default: now); the counts per rule."""
        now = now or utcnow()
        counts: dict[str, int] = {}
        for rule in self.rules:
            total = await self._run_rule(rule, now)
            counts[rule.name] = total
            NOTICES.labels(self.app, rule.name).inc(total)
        if any(counts.values()):
            logger.info(
                "reminders given: %s", ", ".join(f"{name}={n}" for name, n in counts.items())
            )
        return counts

    async def _run_rule(self, rule: ReminderRule, now: dt.datetime) -> int:
        total = 0
        while total < self.max_per_round:
            limit = min(self.batch, self.max_per_round - total)
            # One transaction per batch: its notices, events and records commit together.
            async with self.database.transaction() as session:
                handled = await rule.apply(session, now, limit)
            total += handled
            if handled < limit:
                return total
        logger.warning(
            "reminders: %s gave %d notices, this round's most; the rest go next round",
            rule.name,
            total,
        )
        return total
