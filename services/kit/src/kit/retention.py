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
from kit.jobs import ScheduledJob

logger = logging.getLogger("kit.retention")

BATCH = 500
JOB = "retention"
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


class RetentionJob(ScheduledJob):
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
        super().__init__(f"{app}-retention", database, schedule, job=JOB, every=every)
        self.app = app
        self.rules = rules
        self.audit = audit
        self.batch = batch

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
