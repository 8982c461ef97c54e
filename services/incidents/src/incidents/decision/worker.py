"""The background worker: retries what needed another service, with backoff.

It runs in every incidents process (started and stopped by the app's lifespan). Pending
work lives in the ``pending_jobs`` table, so it survives a restart and any replica can do
it; a lease keeps two replicas off the same job. The worker sleeps until the next job is
due, until it is woken (a request just queued work), or at most ``poll_seconds`` (work
queued by another replica).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator, Collection

import httpx
from sqlalchemy import case, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from incidents.decision import jobs, training, upstream
from incidents.decision.jobs import Backoff
from incidents.decision.measures import measure_status, record_heard, tell_coaching
from incidents.decision.models import JobKind, PendingJob, Trigger
from incidents.decision.recount import recount
from incidents.decision.service import (
    UNDECIDED,
    Outside,
    decide,
    lock_incident,
    open_remedial,
    remedial_goals,
)
from incidents.decision.upstream import CoachingMeasures, DirectoryPerson, UpstreamUnavailable
from incidents.domain import OPEN_STATUSES, IncidentStatus
from incidents.incident.models import Incident
from incidents.metrics import PENDING_DECISIONS
from kit.db import Database, utcnow

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
        self._wake = asyncio.Event()
        # How long the loop may sleep after a round (``_look_ahead``).
        self._next_in = poll_seconds

    def wake(self) -> None:
        """Work was just queued: look now rather than at the next poll."""
        self._wake.set()

    async def run_due(self) -> int:
        """Do every job that is due now (one batch); returns how many were tried."""
        async with self.database.transaction() as session:
            claimed = await jobs.claim_due(session, limit=BATCH_SIZE)
        # A coaching decision queues both the remedial engagement and the measures: when this
        # round holds both, the remedial job tells coaching the measures too, in one call
        # through the gateway instead of two, and the measures job has nothing left to do.
        measured = {job.incident_id for job in claimed if job.kind is JobKind.SYNC_COACHING}
        remedial = {job.incident_id for job in claimed if job.kind is JobKind.OPEN_REMEDIAL}
        told: set[uuid.UUID] = set()
        for job in sorted(claimed, key=lambda j: _told_with_remedial(j, remedial)):
            if _told_with_remedial(job, told):
                continue
            if await self._run(job, with_measures=job.incident_id in measured):
                told.add(job.incident_id)
        await self._look_ahead()
        return len(claimed)

    @contextlib.asynccontextmanager
    async def running(self, *, enabled: bool) -> AsyncIterator[None]:
        """Run the loop for the duration of the block (the app's lifespan)."""
        if not enabled:
            yield
            return
        task = asyncio.create_task(self._loop(), name="incidents-worker")
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
                await self.run_due()
                delay = self._next_in
            except Exception:  # the database may be briefly away; the loop must go on
                logger.exception("the incidents worker failed a round; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def _run(self, job: PendingJob, *, with_measures: bool = False) -> bool:
        """Do the job; ``True`` when a remedial job told coaching the measures as well
        (``with_measures``: this round also holds the incident's measures job)."""
        try:
            if job.kind is JobKind.DECIDE:
                await self._decide(job)
            elif job.kind is JobKind.RECOUNT:
                await recount(self.database, incident_id=job.incident_id, outside=self.outside)
            elif job.kind is JobKind.SYNC_COACHING:
                await tell_coaching(
                    self.database, incident_id=job.incident_id, outside=self.outside
                )
            else:
                return await self._open_remedial(job, with_measures=with_measures)
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

    async def _decide(self, job: PendingJob) -> None:
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

    async def _open_remedial(self, job: PendingJob, *, with_measures: bool) -> bool:
        async with self.database.transaction(write=False) as session:
            incident = await session.get(Incident, job.incident_id)
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
        async with self.database.transaction() as session:
            locked = await lock_incident(session, incident_id=incident.id)
            if locked is not None:
                if heard is not None:  # first, as when the measures job ran before this one
                    status, _ = measure_status(incident)
                    await record_heard(
                        session,
                        locked=locked,
                        told_version=incident.version,
                        status=status,
                        heard=heard,
                    )
                if trained is not None and locked.remedial_engagement_id is None:
                    training.record(session, incident_id=locked.id, answer=trained)
                await open_remedial(session, incident=locked, engagement_id=engagement_id)
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

    async def _look_ahead(self) -> None:
        """After a round, in one read: how many incidents wait for coaching (the gauge)
        and how long until the next job is due (the loop's sleep)."""
        async with self.database.transaction(write=False) as session:
            waiting, next_at = (await session.execute(_WAITING_AND_NEXT)).one()
        PENDING_DECISIONS.set(waiting or 0)
        if next_at is None:
            self._next_in = self.poll_seconds
            return
        if next_at.tzinfo is None:  # SQLite hands back a naive value from an expression
            next_at = next_at.replace(tzinfo=dt.UTC)
        seconds = (next_at - utcnow()).total_seconds()
        self._next_in = min(max(seconds, MIN_SLEEP_SECONDS), self.poll_seconds)


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


def _told_with_remedial(job: PendingJob, incidents: Collection[uuid.UUID]) -> bool:
    """A measures job of one of ``incidents`` (whose remedial job tells the measures)."""
    return job.kind is JobKind.SYNC_COACHING and job.incident_id in incidents
