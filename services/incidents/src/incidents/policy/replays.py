"""Replaying a draft over the decisions of a past window: reading them in batches, the
departments of the people whose decisions would change, and the background runs.

The counting itself is ``incidents.policy.replay`` (pure). A small window is replayed
within the request; a large one is a row claimed by the :class:`Replayer` of any replica
(with a lease, renewed at every batch, so a replica that dies hands it on), which writes
its progress after every batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import String, cast, func, type_coerce, update
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from incidents.decision.models import Decision, DecisionKind
from incidents.decision.upstream import UpstreamUnavailable, departments_of
from incidents.domain import IncidentStatus, Outcome
from incidents.errors import ReplayNotFound, ReplayWindowEmpty
from incidents.incident.models import Incident
from incidents.policy.evaluation import windows_of
from incidents.policy.models import (
    EscalationPolicy,
    EscalationRule,
    PolicyReplay,
    PolicyStatus,
    ReplayStatus,
)
from incidents.policy.replay import PriorIndex, Tally
from incidents.policy.schemas import ReplayRead, ReplayResultRead
from kit.db import Database, table_of, utcnow
from kit.errors import ValidationFailed
from kit.fields import looking_back
from kit.jobs import Backoff, Loop, claim_due

logger = logging.getLogger("incidents.replays")

DEFAULT_WINDOW = dt.timedelta(days=365)
MAX_WINDOW = dt.timedelta(days=3650)
BATCH_SIZE = 10_000
OVERRIDE_BATCH = 1_000
LEASE = dt.timedelta(seconds=60)
MAX_ATTEMPTS = 3
RETRY = Backoff(base_seconds=5, cap_seconds=60)

Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]
OnBatch = Callable[[int], Awaitable[None]]


def window_of(
    since: dt.datetime | None, until: dt.datetime | None
) -> tuple[dt.datetime, dt.datetime]:
    """The window to replay: by default the twelve months up to now."""
    until = until or utcnow()
    since = since or looking_back(until, DEFAULT_WINDOW)
    if since >= until:
        raise ValidationFailed(
            "`since` must be before `until`.",
            extensions={"errors": [{"detail": "must be before until", "pointer": "#/since"}]},
        )
    if until - since > MAX_WINDOW:
        raise ValidationFailed(
            f"A replay covers at most {MAX_WINDOW.days} days; narrow `since` or `until`.",
            extensions={"errors": [{"detail": "window too long", "pointer": "#/since"}]},
        )
    return since, until


def _in_window(since: dt.datetime, until: dt.datetime) -> list[Any]:
    return [
        col(Incident.occurred_at) >= since,
        col(Incident.occurred_at) < until,
        col(Incident.decision_id).is_not(None),
    ]


async def decided_in_window(
    session: AsyncSession, *, since: dt.datetime, until: dt.datetime
) -> int:
    """How many decided incidents happened in the window (all are replayed)."""
    count = await session.scalar(
        select(func.count()).select_from(Incident).where(*_in_window(since, until))
    )
    if not count:
        raise ReplayWindowEmpty(
            f"No decided incident happened between {since.isoformat()} and {until.isoformat()}, "
            "so there is nothing to replay. Choose a window with incidents (by default the "
            "replay covers the last 12 months).",
            extensions={"since": since.isoformat(), "until": until.isoformat()},
        )
    return int(count)


def new_replay(
    *,
    policy: EscalationPolicy,
    content_hash: str,
    requested_by: uuid.UUID | None,
    since: dt.datetime,
    until: dt.datetime,
    total: int,
) -> PolicyReplay:
    return PolicyReplay(
        policy_id=policy.id,
        content_hash=content_hash,
        requested_by=requested_by,
        since=since,
        until=until,
        total=total,
    )


def finish(replay: PolicyReplay, *, result: dict[str, Any]) -> None:
    replay.status = ReplayStatus.DONE
    replay.result = result
    replay.processed = int(result["replayed"])
    replay.finished_at = utcnow()
    replay.leased_until = None


async def get_replay(
    session: AsyncSession, *, policy_id: uuid.UUID, replay_id: uuid.UUID
) -> PolicyReplay:
    replay = await session.get(PolicyReplay, replay_id)
    if replay is None or replay.policy_id != policy_id:
        raise ReplayNotFound(f"Version {policy_id} has no replay {replay_id}.")
    return replay


async def latest_replay(session: AsyncSession, *, policy_id: uuid.UUID) -> PolicyReplay | None:
    replay: PolicyReplay | None = await session.scalar(
        select(PolicyReplay)
        .where(col(PolicyReplay.policy_id) == policy_id)
        .order_by(col(PolicyReplay.created_at).desc(), col(PolicyReplay.id).desc())
        .limit(1)
    )
    return replay


async def compute(
    sessions: Sessions,
    gateway: httpx.AsyncClient,
    *,
    policy_id: uuid.UUID,
    since: dt.datetime,
    until: dt.datetime,
    on_batch: OnBatch | None = None,
) -> dict[str, Any]:
    """Replay the version's rules over the window's decisions; the summary to store."""
    started = time.monotonic()
    async with sessions() as session:
        rules = list(
            await session.scalars(
                select(EscalationRule)
                .where(col(EscalationRule.policy_id) == policy_id)
                .order_by(col(EscalationRule.position))
            )
        )
        prior_index = await _prior_index_if_needed(session, rules=rules, since=since, until=until)
        tally = Tally(rules, prior_index=prior_index)
        overridden: list[Any] = []
        override = DecisionKind.OVERRIDE.value
        # One pass over the window (a server-side cursor on PostgreSQL), read in batches:
        # paging by id re-read and re-sorted the whole window for every page.
        async for rows in _decided(
            session, since=since, until=until, timed=prior_index is not None
        ):
            for row in rows:  # the columns of _decided
                if row[6] == override:
                    overridden.append(row)
                else:
                    tally.add(row[0], row[1], row[2], row[3], row[4], row[5], row[7])
            if on_batch is not None:
                await on_batch(tally.replayed + len(overridden))
        # Rare: an incident HR overrode is compared with the scheme's last decision.
        for start in range(0, len(overridden), OVERRIDE_BATCH):
            chunk = overridden[start : start + OVERRIDE_BATCH]
            by_policy = await _policy_decisions(session, [row[0] for row in chunk])
            for incident_id, person_id, occurred_at, severity, category, *_ in chunk:
                if incident_id not in by_policy:
                    continue  # HR decided before the scheme ever did: nothing to compare
                action, facts = by_policy[incident_id]
                tally.add(incident_id, person_id, occurred_at, severity, category, action, facts)
    read = time.monotonic()
    try:
        departments: dict[Any, str | None] | None = await departments_of(
            gateway, [uuid.UUID(str(person)) for person in tally.people_changed()]
        )
    except UpstreamUnavailable as error:
        logger.warning("replay without departments: %s", error)
        departments = None
    asked = time.monotonic()
    summary = {**tally.summary(departments), "overridden": len(overridden)}
    logger.info(
        "replayed %d decisions in %.2f s: reading and evaluating %.2f s, departments of %d "
        "people %.2f s, summary %.2f s",
        tally.replayed,
        time.monotonic() - started,
        read - started,
        len(departments or ()),
        asked - read,
        time.monotonic() - asked,
    )
    return summary


async def _decided(
    session: AsyncSession, *, since: dt.datetime, until: dt.datetime, timed: bool
) -> AsyncIterator[Sequence[Any]]:
    """The decided incidents of the window, in batches, with the decision in force:
    (incident id, person id, occurred at, severity, category, action, decision kind,
    facts as JSON text).

    Ids, enums and the facts come back as the driver gives them (no conversion for each of
    a hundred thousand rows: the tally only compares them, and converts the few it reports);
    when it and ``timed`` is false, the time as well."""
    incidents, decisions = table_of(Incident), table_of(Decision)
    statement = (
        core_select(
            type_coerce(incidents.c.id, String),
            type_coerce(incidents.c.person_id, String),
            incidents.c.occurred_at if timed else type_coerce(incidents.c.occurred_at, String),
            type_coerce(incidents.c.severity, String),
            type_coerce(incidents.c.category, String),
            type_coerce(decisions.c.action, String),
            type_coerce(decisions.c.kind, String),
            cast(decisions.c.facts, String),
        )
        .join(decisions, decisions.c.id == incidents.c.decision_id)
        .where(incidents.c.occurred_at >= since, incidents.c.occurred_at < until)
        .execution_options(yield_per=BATCH_SIZE)
    )
    result = await session.stream(statement)
    try:
        async for rows in result.partitions():
            yield rows
    finally:
        await result.close()


async def _policy_decisions(session: AsyncSession, incident_ids: Sequence[Any]) -> dict[Any, Any]:
    """The last decision the scheme took for each of these incidents: (action, facts)."""
    if not incident_ids:
        return {}
    decisions = table_of(Decision)
    by_uuid = {uuid.UUID(str(raw)): raw for raw in incident_ids}
    rows = await session.execute(
        core_select(decisions.c.incident_id, decisions.c.action, cast(decisions.c.facts, String))
        .where(
            decisions.c.incident_id.in_(list(by_uuid)),
            decisions.c.kind == DecisionKind.POLICY,
        )
        .order_by(decisions.c.created_at)
    )
    return {by_uuid[row[0]]: (str(row[1]), row[2]) for row in rows}


async def _prior_index_if_needed(
    session: AsyncSession,
    *,
    rules: Sequence[EscalationRule],
    since: dt.datetime,
    until: dt.datetime,
) -> PriorIndex | None:
    """Decisions record prior incidents for the windows of the policy that took them; a
    draft window that some published version did not use is counted from the incidents."""
    wanted = windows_of(rules)
    used = await session.execute(
        select(EscalationRule.policy_id, EscalationRule.window_days)
        .join(EscalationPolicy, col(EscalationPolicy.id) == col(EscalationRule.policy_id))
        .where(col(EscalationPolicy.status) != PolicyStatus.DRAFT)
    )
    recorded: dict[uuid.UUID, set[int]] = {}
    for policy_id, window in used:
        recorded.setdefault(policy_id, set()).add(window)
    if all(wanted <= windows for windows in recorded.values()):
        return None
    start = looking_back(since, dt.timedelta(days=max(wanted)))
    incidents = table_of(Incident)
    rows = await session.execute(
        # The person's id as raw as the batches read it, so both key the same people.
        core_select(type_coerce(incidents.c.person_id, String), incidents.c.occurred_at).where(
            col(Incident.occurred_at) >= start,
            col(Incident.occurred_at) < until,
            col(Incident.status) != IncidentStatus.DISMISSED,
            col(Incident.outcome).is_distinct_from(Outcome.NO_VIOLATION),
        )
    )
    return PriorIndex((person_id, occurred_at) for person_id, occurred_at in rows)


class Replayer:
    """Runs the queued replays in the background of every incidents process."""

    def __init__(
        self, database: Database, gateway: httpx.AsyncClient, *, poll_seconds: float
    ) -> None:
        self.database = database
        self.gateway = gateway
        self.poll_seconds = poll_seconds
        self.loop = Loop("incidents-replays", self.run_due, poll_seconds=poll_seconds)

    def wake(self) -> None:
        self.loop.wake()

    def running(self, *, enabled: bool) -> AbstractAsyncContextManager[None]:
        return self.loop.running(enabled=enabled)

    async def run_due(self) -> float:
        """Run one due replay, if any; how long the loop may sleep."""
        replays = table_of(PolicyReplay)
        async with self.database.transaction() as session:
            claimed = await claim_due(
                session,
                replays,
                limit=1,
                lease=LEASE,
                where=[replays.c.status.in_([ReplayStatus.QUEUED, ReplayStatus.RUNNING])],
            )
        if not claimed:
            return self.poll_seconds
        await self._run(claimed[0])
        return 0

    async def _run(self, row: Any) -> None:
        replays = table_of(PolicyReplay)

        async def progress(processed: int) -> None:
            async with self.database.transaction() as session:
                await session.execute(
                    update(replays)
                    .where(replays.c.id == row.id)
                    .values(processed=processed, leased_until=utcnow() + LEASE)
                )

        async with self.database.transaction() as session:
            await session.execute(
                update(replays)
                .where(replays.c.id == row.id)
                .values(status=ReplayStatus.RUNNING, processed=0, attempts=row.attempts + 1)
            )
        try:
            result = await compute(
                self._read,
                self.gateway,
                policy_id=row.policy_id,
                since=row.since,
                until=row.until,
                on_batch=progress,
            )
        except Exception as error:  # a bug or a lost database: retry, then give up visibly
            logger.exception("replay %s failed", row.id)
            attempts = row.attempts + 1
            async with self.database.transaction() as session:
                await session.execute(
                    update(replays)
                    .where(replays.c.id == row.id)
                    .values(
                        status=ReplayStatus.FAILED
                        if attempts >= MAX_ATTEMPTS
                        else ReplayStatus.QUEUED,
                        error=f"{type(error).__name__}: {error}"[:500],
                        leased_until=None,
                        next_attempt_at=utcnow() + RETRY.delay(attempts),
                    )
                )
            return
        async with self.database.transaction() as session:
            replay = await session.get(PolicyReplay, row.id)
            if replay is not None:
                finish(replay, result=result)
                session.add(replay)

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        async with self.database.transaction(write=False) as session:
            yield session


def present(replay: PolicyReplay, *, current_hash: str, show_ids: bool) -> ReplayRead:
    """The replay as the caller may see it: incident ids for HR and legal only."""
    result = None
    if replay.result is not None:
        stored = dict(replay.result)
        if not show_ids:
            stored["transitions"] = [{**t, "incident_ids": None} for t in stored["transitions"]]
            stored["undetermined_incident_ids"] = None
            stored["no_rule_incident_ids"] = None
        result = ReplayResultRead.model_validate(stored)
    return ReplayRead(
        id=replay.id,
        policy_id=replay.policy_id,
        content_hash=replay.content_hash,
        stale=replay.content_hash != current_hash,
        status=replay.status,
        since=replay.since,
        until=replay.until,
        total=replay.total,
        processed=replay.processed,
        requested_by=replay.requested_by,
        created_at=replay.created_at,
        finished_at=replay.finished_at,
        error=replay.error,
        result=result,
    )
