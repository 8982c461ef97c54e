"""The periodic reconciliation of assignment rules (and the renewals that come due), on
one replica at a time.

Directory changes reach training as events where the gateway sends them; this pass fixes
whatever drifted anyway (an outage, a missed event, a change made straight in the HRIS).
"""

from __future__ import annotations

import datetime as dt
import logging

import httpx
from sqlalchemy import update

from kit.db import Database, utcnow
from kit.jobs import Loop, claim_schedule, release_schedule, retry_schedule
from training.db import scheduled_runs
from training.directory import Directory
from training.errors import DirectoryUnavailable
from training.rules.service import reconcile

logger = logging.getLogger("training.rules")

JOB = "assignment-rules-reconciliation"
# The gateway is away (starting, restarting, an outage): try again soon, not a period later.
RETRY_AFTER = dt.timedelta(seconds=10)


class Reconciler(Loop):
    def __init__(
        self,
        database: Database,
        gateway: httpx.AsyncClient,
        *,
        every_seconds: float,
        renewal_lead_days: int,
    ):
        super().__init__("training-reconciler", self._round, poll_seconds=every_seconds)
        self.database = database
        self.directory = Directory(gateway)
        self.every = dt.timedelta(seconds=every_seconds)
        self.renewal_lead = dt.timedelta(days=renewal_lead_days)

    async def due_now(self) -> None:
        """The gateway's hint that the directory changed: reconcile now, not at the next
        period (the lease is left alone: a round under way finishes, the next follows)."""
        async with self.database.transaction() as session:
            await session.execute(
                update(scheduled_runs)
                .where(scheduled_runs.c.name == JOB)
                .values(next_run_at=utcnow())
            )
        self.wake()

    async def _round(self) -> float:
        claimed = await claim_schedule(
            self.database, scheduled_runs, name=JOB, every=self.every, lease=self.every
        )
        if not claimed:
            return self.every.total_seconds()
        try:
            await self.run_once()
        except DirectoryUnavailable as exc:
            # Expected while the gateway starts or restarts: a warning, not an error.
            logger.warning(
                "the gateway's directory is unreachable (%s); reconciling again in %d s",
                exc,
                RETRY_AFTER.total_seconds(),
            )
            await retry_schedule(self.database, scheduled_runs, name=JOB, after=RETRY_AFTER)
            return RETRY_AFTER.total_seconds()
        # Done: the lease only covered the round (the next is a period away unless the
        # gateway's hint makes it due sooner, see due_now).
        await release_schedule(self.database, scheduled_runs, name=JOB)
        return self.every.total_seconds()

    async def run_once(self) -> None:
        async with self.database.transaction() as session:
            result = await reconcile(
                session, directory=self.directory, renewal_lead=self.renewal_lead
            )
        if any(result.model_dump().values()):
            logger.info("assignment rules reconciled: %s", result.model_dump())
