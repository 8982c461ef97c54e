"""Pending work in the database: a decision waiting for coaching history, a remedial
engagement to open. Any replica claims due jobs for a while (a lease), so two never work
on the same job at once and a job whose worker died is taken over when the lease ends."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from incidents.decision.models import JobKind, PendingJob
from kit.db import table_of, utcnow

LEASE = dt.timedelta(seconds=120)
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential: ``base``, 2 x base, 4 x base, ... capped at ``cap`` seconds."""

    base_seconds: float
    cap_seconds: float

    def delay(self, attempts: int) -> dt.timedelta:
        seconds = self.base_seconds * 2 ** max(attempts - 1, 0)
        return dt.timedelta(seconds=min(seconds, self.cap_seconds))


@dataclass(slots=True)
class Queued:
    """When the soonest job queued (or put back) during a worker's round is due."""

    soonest: dt.datetime | None = None

    def note(self, at: dt.datetime) -> None:
        if self.soonest is None or at < self.soonest:
            self.soonest = at


_queued: contextvars.ContextVar[Queued | None] = contextvars.ContextVar(
    "incidents_jobs_queued", default=None
)


@contextlib.contextmanager
def noting_queued() -> Iterator[Queued]:
    """Within the block (a worker's round), note when each job this task queues, retries
    or makes due again is due: the worker then knows how long it may sleep without
    reading the table again."""
    queued = Queued()
    token = _queued.set(queued)
    try:
        yield queued
    finally:
        _queued.reset(token)


def _note(at: dt.datetime) -> None:
    if (queued := _queued.get()) is not None:
        queued.note(at)


async def job_for(
    session: AsyncSession, *, incident_id: uuid.UUID, kind: JobKind
) -> PendingJob | None:
    return await session.scalar(
        select(PendingJob).where(
            col(PendingJob.incident_id) == incident_id, col(PendingJob.kind) == kind
        )
    )


async def enqueue(session: AsyncSession, *, incident_id: uuid.UUID, kind: JobKind) -> bool:
    """Queue the job, due now, unless it is already queued. Returns whether it was added.

    Callers hold the incident's row lock, so two transactions cannot both add it."""
    if await job_for(session, incident_id=incident_id, kind=kind) is not None:
        return False
    job = PendingJob(incident_id=incident_id, kind=kind)
    session.add(job)
    await session.flush()
    _note(job.next_attempt_at)
    return True


async def retry_later(
    session: AsyncSession,
    *,
    incident_id: uuid.UUID,
    kind: JobKind,
    error: str,
    backoff: Backoff,
) -> PendingJob:
    """Record a failed attempt (queueing the job if needed) and when to try again."""
    job = await job_for(session, incident_id=incident_id, kind=kind)
    if job is None:
        job = PendingJob(incident_id=incident_id, kind=kind)
    job.attempts += 1
    job.next_attempt_at = utcnow() + backoff.delay(job.attempts)
    job.leased_until = None
    job.last_error = error[:MAX_ERROR_LENGTH]
    session.add(job)
    await session.flush()
    _note(job.next_attempt_at)
    return job


async def due_now(session: AsyncSession, *, incident_id: uuid.UUID, kind: JobKind) -> None:
    """The job must run again at once (what it did is already out of date)."""
    job = await job_for(session, incident_id=incident_id, kind=kind)
    if job is None:
        job = PendingJob(incident_id=incident_id, kind=kind)
    job.next_attempt_at = utcnow()
    job.leased_until = None
    session.add(job)
    await session.flush()
    _note(job.next_attempt_at)


# Built once, on the table: every decision's jobs end with it. Nothing holds a job it
# deletes in the session (a job is read and ended in different transactions).
_JOBS = table_of(PendingJob)
_FINISH = delete(_JOBS).where(
    _JOBS.c.incident_id == bindparam("incident_id"), _JOBS.c.kind == bindparam("kind")
)
_FINISH_KINDS = delete(_JOBS).where(
    _JOBS.c.incident_id == bindparam("incident_id"),
    _JOBS.c.kind.in_(bindparam("kinds", expanding=True)),
)


async def finish(session: AsyncSession, *, incident_id: uuid.UUID, kind: JobKind) -> None:
    await session.execute(_FINISH, {"incident_id": incident_id, "kind": kind})


async def finish_kinds(
    session: AsyncSession, *, incident_id: uuid.UUID, kinds: Sequence[JobKind]
) -> None:
    """``finish`` for each of ``kinds``, in one statement."""
    await session.execute(_FINISH_KINDS, {"incident_id": incident_id, "kinds": list(kinds)})


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job leased to this worker."""

    id: uuid.UUID
    incident_id: uuid.UUID
    kind: JobKind
    next_attempt_at: dt.datetime


def _free() -> ColumnElement[bool]:
    return or_(_JOBS.c.leased_until.is_(None), _JOBS.c.leased_until < bindparam("now"))


# Built once, on the table: every round of the worker sends it. One statement leases the
# due jobs; the lease is checked again on the rows it updates, so of two replicas racing
# for a job one updates it and the other none (on PostgreSQL the second waits for the
# first's row lock, then finds the job leased).
_CLAIM = (
    update(_JOBS)
    .where(
        _JOBS.c.id.in_(
            select(_JOBS.c.id)
            .where(_JOBS.c.next_attempt_at <= bindparam("now"), _free())
            .order_by(_JOBS.c.next_attempt_at)
            .limit(bindparam("limit"))
            .scalar_subquery()
        ),
        _free(),
    )
    .values(leased_until=bindparam("until"))
    .returning(_JOBS.c.id, _JOBS.c.incident_id, _JOBS.c.kind, _JOBS.c.next_attempt_at)
)


async def claim_due(session: AsyncSession, *, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due jobs to this worker, the longest due first."""
    now = utcnow()
    rows = await session.execute(_CLAIM, {"now": now, "until": now + LEASE, "limit": limit})
    claimed = [Claimed(*row) for row in rows]
    return sorted(claimed, key=lambda job: job.next_attempt_at)
