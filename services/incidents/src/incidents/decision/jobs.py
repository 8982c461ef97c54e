"""Pending work in the database: a decision waiting for coaching history, a remedial
engagement to open. Any replica claims due jobs for a while (a lease), so two never work
on the same job at once and a job whose worker died is taken over when the lease ends."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

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
    session.add(PendingJob(incident_id=incident_id, kind=kind))
    await session.flush()
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


# Built once, on the table: every decision's jobs end with it. Nothing holds a job it
# deletes in the session (a job is read and ended in different transactions).
_JOBS = table_of(PendingJob)
_FINISH = delete(_JOBS).where(
    _JOBS.c.incident_id == bindparam("incident_id"), _JOBS.c.kind == bindparam("kind")
)


async def finish(session: AsyncSession, *, incident_id: uuid.UUID, kind: JobKind) -> None:
    await session.execute(_FINISH, {"incident_id": incident_id, "kind": kind})


async def claim_due(session: AsyncSession, *, limit: int) -> list[PendingJob]:
    """Lease up to ``limit`` due jobs to this worker. The conditional update makes the
    claim atomic: of two replicas racing for a job, one updates it and the other none."""
    now = utcnow()
    free = or_(col(PendingJob.leased_until).is_(None), col(PendingJob.leased_until) < now)
    candidates = list(
        await session.scalars(
            select(PendingJob)
            .where(col(PendingJob.next_attempt_at) <= now, free)
            .order_by(col(PendingJob.next_attempt_at))
            .limit(limit)
        )
    )
    if not candidates:
        return []
    claimed_ids = set(
        await session.scalars(
            update(PendingJob)
            .where(col(PendingJob.id).in_([job.id for job in candidates]), free)
            .values(leased_until=now + LEASE)
            .returning(col(PendingJob.id))
            .execution_options(synchronize_session=False)
        )
    )
    return [job for job in candidates if job.id in claimed_ids]
