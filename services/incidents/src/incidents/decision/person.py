"""One person's decisions: taken one at a time, and revisited when their history changes.

A decision counts the person's earlier incidents, so two decisions about one person taken
side by side could each miss the other's incident. Each person has a row whose
``version`` moves with every write that a decision about them depends on (a new report,
a decision recorded, an incident that stops counting). Deciding reads the version with
the facts, asks the other services with no transaction open, then takes its turn in the
write transaction: the conditional update succeeds only if the version is still the one
read (on PostgreSQL it also row-locks the person until the commit), else the facts are
read again. That holds across processes and replicas; within one process ``PersonTurns``
queues the decisions about a person so they rarely have to read twice.

A report about an earlier post that arrives after later ones were decided changes their
facts: ``history_changed`` queues a recount of each later open incident (the worker
decides a ``decided`` one again, or flags one already in progress to its owner).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from incidents.decision import jobs
from incidents.decision.models import JobKind, PersonRecord
from incidents.domain import ACTIONABLE_STATUSES
from incidents.incident.models import Incident
from kit.db import flush_unless_duplicate, table_of


@dataclass(slots=True)
class _Queue:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class PersonTurns:
    """This process's queue of decisions per person (the database's version check is what
    makes it hold across processes; this only spares the work of reading twice)."""

    def __init__(self) -> None:
        self._queues: dict[uuid.UUID, _Queue] = {}

    @contextlib.asynccontextmanager
    async def turn(self, person_id: uuid.UUID) -> AsyncIterator[bool]:
        """Wait for this process's turn on ``person_id``; yields whether it had to wait
        (another decision about the person may have been recorded meanwhile)."""
        queue = self._queues.setdefault(person_id, _Queue())
        queue.users += 1
        try:
            waited = queue.lock.locked()
            async with queue.lock:
                yield waited
        finally:
            queue.users -= 1
            if queue.users == 0:
                del self._queues[person_id]


# Built once, on the table (no ORM entity): every decision reads and moves the version.
_RECORDS = table_of(PersonRecord)
VERSION = select(_RECORDS.c.version).where(_RECORDS.c.person_id == bindparam("person_id"))
_MOVE_ON = (
    update(_RECORDS)
    .where(
        _RECORDS.c.person_id == bindparam("of_person"),
        _RECORDS.c.version == bindparam("read_version"),
    )
    .values(version=_RECORDS.c.version + 1)
)
_LATER_OPEN = select(col(Incident.id)).where(
    col(Incident.person_id) == bindparam("person_id"),
    col(Incident.id) != bindparam("incident_id"),
    col(Incident.occurred_at) > bindparam("occurred_at"),
    col(Incident.status).in_(ACTIONABLE_STATUSES),
)


async def version_of(session: AsyncSession, *, person_id: uuid.UUID) -> int:
    version = await session.scalar(VERSION, {"person_id": person_id})
    return version or 0


async def take_turn(session: AsyncSession, *, person_id: uuid.UUID, read_version: int) -> bool:
    """In the write transaction: move the person's version on if it is still
    ``read_version``; ``False`` if another write about the person came first."""
    if read_version == 0:
        return await flush_unless_duplicate(session, PersonRecord(person_id=person_id, version=1))
    moved = await session.execute(_MOVE_ON, {"of_person": person_id, "read_version": read_version})
    return bool(getattr(moved, "rowcount", 0))


async def move_on(session: AsyncSession, *, person_id: uuid.UUID) -> None:
    """A write the person's pending decisions must see, whatever they read (e.g. an
    incident dismissed): their turn fails and they read the facts again."""
    version = await version_of(session, person_id=person_id)
    if not await take_turn(session, person_id=person_id, read_version=version):
        await move_on(session, person_id=person_id)


async def history_changed(session: AsyncSession, *, incident: Incident) -> int:
    """``incident`` now counts (a new report) or no longer does (dismissed, no violation):
    queue a recount of every later open incident about the person whose decision may have
    counted it. Returns how many were queued."""
    later = await session.scalars(
        _LATER_OPEN,
        {
            "person_id": incident.person_id,
            "incident_id": incident.id,
            "occurred_at": incident.occurred_at,
        },
    )
    queued = 0
    for incident_id in later:
        queued += await jobs.enqueue(session, incident_id=incident_id, kind=JobKind.RECOUNT)
    return queued
