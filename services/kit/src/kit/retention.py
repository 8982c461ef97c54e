"""Retention: a periodic job per service that removes or anonymises records past their
retention period, in batches, on one replica at a time (a leased schedule, ``kit.jobs``).

A service gives the rules (``RetentionRule``: a name and a function that handles one batch
of due records and returns how many it handled); :class:`RetentionJob` runs each rule
batch by batch until nothing is due, counts what it removed per rule (a Prometheus counter
and the returned counts; never content), and records the counts in the service's access
audit. The rules select by age, so a round that stops half-way (a crash) is simply
continued by the next one: running a rule twice removes nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from prometheus_client import Counter
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from kit.audit import AuditRecord, AuditTrail
from kit.db import Database, utcnow
from kit.errors import ServiceUnavailable
from kit.jobs import Loop, claim_schedule, retry_schedule

logger = logging.getLogger("kit.retention")

BATCH = 500
JOB = "retention"
# Another service a rule needs is away: the run is due again this soon.
RETRY_AFTER = dt.timedelta(seconds=10)
RETENTION_REMOVED = Counter(
    "smp_retention_removed_total",
    "Records removed or anonymised by the retention job, per rule.",
    ["app", "rule"],
)


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """``apply(session, now, limit)`` handles at most ``limit`` due records; their count."""

    name: str
    apply: Callable[[AsyncSession, dt.datetime, int], Awaitable[int]]


class RetentionJob(Loop):
    def __init__(
        self,
        app: str,
        database: Database,
        schedule: Table,
        *,
        rules: Sequence[RetentionRule],
        audit: AuditTrail,
        every: dt.timedelta,
        batch: int = BATCH,
    ) -> None:
        super().__init__(f"{app}-retention", self._round, poll_seconds=every.total_seconds())
        self.app = app
        self.database = database
        self.schedule = schedule
        self.rules = rules
        self.audit = audit
        self.every = every
        self.batch = batch

    async def _round(self) -> float:
        claimed = await claim_schedule(
            self.database, self.schedule, name=JOB, every=self.every, lease=self.every
        )
        if not claimed:
            return self.every.total_seconds()
        try:
            await self.run_once()
        except ServiceUnavailable as exc:
            # A rule needs another service (coaching asks incidents for its legal holds)
            # and it is away, as on every start while the gateway comes up: a warning, and
            # the run again soon rather than a whole period later.
            logger.warning(
                "%s retention waits for another service (%s); again in %d s",
                self.app,
                exc,
                RETRY_AFTER.total_seconds(),
            )
            await retry_schedule(self.database, self.schedule, name=JOB, after=RETRY_AFTER)
            return RETRY_AFTER.total_seconds()
        return self.every.total_seconds()

    async def run_once(self) -> dict[str, int]:
        """Apply every rule until nothing is due; the counts, also in the audit."""
        now = utcnow()
        counts: dict[str, int] = {}
        for rule in self.rules:
            total = 0
            while True:
                async with self.database.transaction() as session:
                    handled = await rule.apply(session, now, self.batch)
                total += handled
                if handled < self.batch:
                    break
            counts[rule.name] = total
            RETENTION_REMOVED.labels(self.app, rule.name).inc(total)
        if any(counts.values()):
            detail = ", ".join(f"{name}={count}" for name, count in counts.items())
            logger.info("retention applied: %s", detail)
            async with self.database.transaction() as session:
                await self.audit.append(
                    session,
                    AuditRecord(
                        actor=f"service:{self.app}",
                        action="retention.applied",
                        object_type="retention",
                        object_id=now.date().isoformat(),
                        detail=detail[:200],
                        route="retention job",
                    ),
                )
        return counts
