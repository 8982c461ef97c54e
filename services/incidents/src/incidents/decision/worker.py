"""The background worker: retries what needed another service, with backoff.

It runs in every incidents process (started and stopped by the app's lifespan). Pending
work lives in the ``pending_jobs`` table, so it survives a restart and any replica can do
it; a lease keeps two replicas off the same job. The worker sleeps until the next job is
due, until it is woken (a request just queued work), or at most ``poll_seconds`` (work
queued by another replica).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import case, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from incidents.decision import jobs, training, upstream
from incidents.decision.jobs import Backoff
from incidents.decision.measures import heard_entry, measure_status, record_heard, tell_coaching
from incidents.decision.models import JobKind, PendingJob, Trigger
from incidents.decision.recount import recount
from incidents.decision.service import (
    UNDECIDED,
    Outside,
    decide,
    lock_incident,
    open_remedial,
    open_remedial_if_unchanged,
    remedial_goals,
)
from incidents.decision.upstream import CoachingMeasures, DirectoryPerson, UpstreamUnavailable
from incidents.domain import OPEN_STATUSES, IncidentStatus
from incidents.incident import timeline
from incidents.incident.models import Incident
from incidents.metrics import PENDING_DECISIONS
from kit.db import Database, utcnow
from kit.jobs import Loop

logger = logging.getLogger("incidents.worker")

BATCH_SIZE = 20
MIN_SLEEP_SECONDS = 0.05


class Worker:
    def __init__(
        self,
        database: Database,
        gateway: httpx.AsyncClient,
        *,
        backoff: Backoff,
        poll_seconds: float,
        history_timeout_seconds: float = 0.6,
    ) -> None:
        self.database = database
        self.outside = Outside(
            gateway=gateway, backoff=backoff, history_timeout_seconds=history_timeout_seconds
        )
        self.poll_seconds = poll_seconds
        # How long the loop may sleep after a round (``_sleep_until``).
        self._next_in = poll_seconds
        self.loop = Loop("incidents-worker", self._round, poll_seconds=poll_seconds)

    def wake(self) -> None:
        """Work was just queued: look now rather than at the next poll."""
        self.loop.wake()

    def running(self, *, enabled: bool) -> contextlib.AbstractAsyncContextManager[None]:
        """Run the loop for the duration of the block (the app's lifespan)."""
        return self.loop.running(enabled=enabled)

    async def _round(self) -> float:
        await self.run_due()
        return self._next_in

    async def run_due(self) -> int:
        """Do every job that is due now (one batch); returns how many were tried."""
        with jobs.noting_queued() as queued:
            # One transaction claims the jobs, reads the incidents the remedial and
            # measures jobs need, and looks ahead (the gauge, the next job's time).
            async with self.database.transaction() as session:
                claimed = await jobs.claim_due(session, limit=BATCH_SIZE)
                read = await _incidents_read_ahead(session, claimed)
                ready_at = await _look_ahead(session)
            await self._run_claimed(claimed, read)
        self._sleep_until(_soonest(ready_at, queued.soonest))
        return len(claimed)

    async def _run_claimed(
        self, claimed: list[jobs.Claimed], read: dict[uuid.UUID, Incident | None]
    ) -> None:
        # A coaching decision queues both the remedial engagement and the measures: when this
        # round holds both, the remedial job tells coaching the measures too, in one call
        # through the gateway instead of two, and the measures job has nothing left to do.
        measured = {job.incident_id for job in claimed if job.kind is JobKind.SYNC_COACHING}
        remedial = {job.incident_id for job in claimed if job.kind is JobKind.OPEN_REMEDIAL}
        told: set[uuid.UUID] = set()
        for job in sorted(claimed, key=lambda j: _told_with_remedial(j, remedial)):
            if _told_with_remedial(job, told):
                continue
            if job.kind in _CHANGES_INCIDENT:  # later jobs of its incident read it again
                read.pop(job.incident_id, None)
            elif job.kind in _READS_AHEAD and job.incident_id not in read:
                read[job.incident_id] = await self._read(job.incident_id)
            incident = read.get(job.incident_id)
            if await self._run(job, incident=incident, with_measures=job.incident_id in measured):
                told.add(job.incident_id)

    async def _read(self, incident_id: uuid.UUID) -> Incident | None:
        async with self.database.transaction(write=False) as session:
            return await session.get(Incident, incident_id)

    def _sleep_until(self, ready_at: dt.datetime | None) -> None:
        """How long the loop may sleep after this round: until the next job is due."""
        if ready_at is None:
            self._next_in = self.poll_seconds
            return
        seconds = (ready_at - utcnow()).total_seconds()
        self._next_in = min(max(seconds, MIN_SLEEP_SECONDS), self.poll_seconds)

    async def _run(
        self, job: jobs.Claimed, *, incident: Incident | None, with_measures: bool = False
    ) -> bool:
        """Do the job; ``True`` when a remedial job told coaching the measures as well
        (``with_measures``: this round also holds the incident's measures job).
        ``incident``: as read when the job was claimed (remedial and measures jobs)."""
        try:
            if job.kind is JobKind.DECIDE:
                await self._decide(job)
            elif job.kind is JobKind.RECOUNT:
                await recount(self.database, incident_id=job.incident_id, outside=self.outside)
            elif job.kind is JobKind.SYNC_COACHING:
                await tell_coaching(
                    self.database,
                    incident_id=job.incident_id,
                    outside=self.outside,
                    incident=incident,
                )
            else:
                return await self._open_remedial(
                    job, incident=incident, with_measures=with_measures
                )
        except Exception as error:  # a bug must not block the other jobs: back off
            logger.exception("job %s (%s) failed", job.id, job.kind)
            async with self.database.transaction() as session:
                await jobs.retry_later(
                    session,
                    incident_id=job.incident_id,
                    kind=job.kind,
                    error=f"{type(error).__name__}: {error}",
                    backoff=self.outside.backoff,
                )
        return False

    async def _decide(self, job: jobs.Claimed) -> None:
        async def undecided(session: AsyncSession, *, writing: bool) -> Incident | None:
            if writing:
                incident = await lock_incident(session, incident_id=job.incident_id)
            else:
                incident = await session.get(Incident, job.incident_id)
            return incident if incident is not None and incident.status in UNDECIDED else None

        # ``decide`` holds no transaction while coaching and the directory are asked.
        outcome = await decide(
            self.database, load=undecided, outside=self.outside, trigger=Trigger.RETRIED
        )
        if outcome is None:  # decided meanwhile, dismissed, or gone
            async with self.database.transaction() as session:
                await jobs.finish(session, incident_id=job.incident_id, kind=job.kind)
            return
        incident, decision = outcome
        if decision is not None:
            logger.info("incident %s decided on retry: %s", incident.id, decision.action)

    async def _open_remedial(
        self, job: jobs.Claimed, *, incident: Incident | None, with_measures: bool
    ) -> bool:
        if (
            incident is None
            or incident.status not in OPEN_STATUSES
            or incident.remedial_engagement_id is not None
        ):
            async with self.database.transaction() as session:
                await jobs.finish(session, incident_id=job.incident_id, kind=job.kind)
            return False
        # Outside any transaction: coaching may be slow, and the write lock is not held
        # meanwhile. A crash after coaching answered is harmless: the retry gets the same
        # engagement back (coaching keeps one per incident).
        try:
            # The person as the decision read them (kept for this job; else one lookup
            # here, or the directory cache's answer): passed on, coaching and training need
            # not each ask the directory again (issue 16).
            person = self.outside.records.take(incident.id) or await upstream.find_person(
                self.outside.gateway, incident.person_id
            )
            heard, engagement_id = await self._ask_coaching(
                incident, with_measures=with_measures, person=person
            )
            trained = await training.assign_remedial_training(
                self.outside.gateway, incident=incident, person=person
            )
        except UpstreamUnavailable as error:
            async with self.database.transaction() as session:
                await jobs.retry_later(
                    session,
                    incident_id=incident.id,
                    kind=job.kind,
                    error=str(error),
                    backoff=self.outside.backoff,
                )
            return False  # the measures job, if any, tells coaching on its own
        answers = _Answers(engagement_id=engagement_id, heard=heard, trained=trained)
        async with self.database.transaction() as session:
            if not await _record_if_unchanged(session, incident=incident, answers=answers):
                await _record_locked(session, incident=incident, answers=answers)
        return heard is not None

    async def _ask_coaching(
        self, incident: Incident, *, with_measures: bool, person: DirectoryPerson | None
    ) -> tuple[CoachingMeasures | None, uuid.UUID]:
        """The remedial engagement, opened alone or (``with_measures``) with the incident's
        measures in the same call."""
        if not with_measures:
            engagement_id = await upstream.open_remedial_engagement(
                self.outside.gateway,
                incident_id=incident.id,
                coachee_id=incident.person_id,
                goals=remedial_goals(incident),
                person=person,
            )
            return None, engagement_id
        status, reason = measure_status(incident)
        heard = await upstream.tell_coaching(
            self.outside.gateway,
            incident_id=incident.id,
            person_id=incident.person_id,
            suspends_ambassador=incident.suspends_ambassador,
            status=status,
            reason=reason,
            remedial_goals=remedial_goals(incident),
            person=person,
        )
        assert heard.engagement_id is not None  # upstream checks coaching answered one
        return heard, heard.engagement_id


# A job leased by another replica is not ours before its lease ends.
_READY_AT = case(
    (
        col(PendingJob.leased_until) > col(PendingJob.next_attempt_at),
        col(PendingJob.leased_until),
    ),
    else_=col(PendingJob.next_attempt_at),
)
# Built once; both answers in one statement (every round reads them).
_WAITING_AND_NEXT = select(
    select(func.count())
    .select_from(Incident)
    .where(col(Incident.status) == IncidentStatus.AWAITING_HISTORY)
    .scalar_subquery(),
    select(func.min(_READY_AT)).scalar_subquery(),
)


# Jobs that may change their incident (a decision): what was read before them is stale.
_CHANGES_INCIDENT = frozenset({JobKind.DECIDE, JobKind.RECOUNT})
# Jobs that work from the incident as it is when they start.
_READS_AHEAD = frozenset({JobKind.OPEN_REMEDIAL, JobKind.SYNC_COACHING})


async def _incidents_read_ahead(
    session: AsyncSession, claimed: list[jobs.Claimed]
) -> dict[uuid.UUID, Incident | None]:
    """The incidents the remedial and measures jobs start from, in one query (``None``:
    gone)."""
    ids = {job.incident_id for job in claimed if job.kind in _READS_AHEAD}
    if not ids:
        return {}
    read: dict[uuid.UUID, Incident | None] = dict.fromkeys(ids)
    for incident in await session.scalars(select(Incident).where(col(Incident.id).in_(ids))):
        read[incident.id] = incident
    return read


async def _look_ahead(session: AsyncSession) -> dt.datetime | None:
    """In the claiming transaction, in one read: how many incidents wait for coaching (the
    gauge) and when the next job is ready (the jobs just claimed: when their lease ends).
    What the round then queues or puts back it notes itself (``jobs.noting_queued``)."""
    waiting, next_at = (await session.execute(_WAITING_AND_NEXT)).one()
    PENDING_DECISIONS.set(waiting or 0)
    if next_at is None:
        return None
    assert isinstance(next_at, dt.datetime)
    if next_at.tzinfo is None:  # SQLite hands back a naive value from an expression
        next_at = next_at.replace(tzinfo=dt.UTC)
    return next_at


def _soonest(*times: dt.datetime | None) -> dt.datetime | None:
    return min((at for at in times if at is not None), default=None)


@dataclass(frozen=True, slots=True)
class _Answers:
    """What coaching and training answered a remedial job."""

    engagement_id: uuid.UUID
    heard: CoachingMeasures | None  # the measures, when told with the engagement
    trained: dict[str, Any] | None


async def _record_if_unchanged(
    session: AsyncSession, *, incident: Incident, answers: _Answers
) -> bool:
    """The answers recorded, if the incident is still as the job read it (the usual case):
    one conditional update, the timeline, the jobs done. ``False`` when it changed."""
    entries = []
    if answers.heard is not None:
        status, _ = measure_status(incident)
        if (heard := heard_entry(incident.id, status=status, heard=answers.heard)) is not None:
            entries.append(heard)
    if answers.trained is not None:
        entries.append(training.entry(incident.id, answer=answers.trained))
    if not await open_remedial_if_unchanged(
        session, incident=incident, engagement_id=answers.engagement_id, entries=entries
    ):
        return False
    done = [JobKind.OPEN_REMEDIAL]
    if answers.heard is not None:
        done.append(JobKind.SYNC_COACHING)
    await jobs.finish_kinds(session, incident_id=incident.id, kinds=done)
    return True


async def _record_locked(session: AsyncSession, *, incident: Incident, answers: _Answers) -> None:
    """The answers recorded on the incident as it is now (it changed since the job read
    it), with its row locked."""
    locked = await lock_incident(session, incident_id=incident.id)
    if locked is None:
        return
    if answers.heard is not None:  # first, as when the measures job ran before this one
        status, _ = measure_status(incident)
        await record_heard(
            session,
            locked=locked,
            told_version=incident.version,
            status=status,
            heard=answers.heard,
        )
    if answers.trained is not None and locked.remedial_engagement_id is None:
        await timeline.write(session, [training.entry(locked.id, answer=answers.trained)])
    await open_remedial(session, incident=locked, engagement_id=answers.engagement_id)


def _told_with_remedial(job: jobs.Claimed, incidents: Collection[uuid.UUID]) -> bool:
    """A measures job of one of ``incidents`` (whose remedial job tells the measures)."""
    return job.kind is JobKind.SYNC_COACHING and job.incident_id in incidents
