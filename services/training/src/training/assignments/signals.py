"""Training signals for coaching: people who need guidance. Routes call these; nothing here
knows about HTTP.

* ``quiz_attempts_exhausted``: every allowed attempt at a quiz used and failed;
* ``training_overdue``: an assignment past its due date, not completed and not closed; or
  the acknowledgement of the current policy lapsed after its renewal was asked for
  (recertification, ``policy.renewal``: no module then, the policy version instead).

One keyset-paged union of the three, oldest first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import (
    Float,
    Integer,
    String,
    Uuid,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    tuple_,
    union_all,
)
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel import col, select

from kit.db import UtcDateTime, utcnow
from kit.pagination import PageParams, decode_cursor, encode_cursor
from training.assignments.models import Assignment
from training.assignments.schemas import SignalRead, SignalReason
from training.modules.models import Module
from training.policy import renewal
from training.policy.models import Acknowledgement, PolicyVersion
from training.quizzes.models import Attempt, Quiz

OVERDUE = literal(SignalReason.TRAINING_OVERDUE.value, type_=String).label("reason")


def _no_uuid(label: str) -> Any:
    return null().cast(Uuid).label(label)


def _exhausted_quizzes(now: dt.datetime) -> Any:
    """People whose every allowed attempt at a quiz is used and failed (an attempt not
    submitted by its deadline counts as failed)."""
    open_attempt = and_(
        col(Attempt.submitted_at).is_(None),
        or_(col(Attempt.deadline_at).is_(None), col(Attempt.deadline_at) > now),
    )
    return (
        core_select(
            func.max(func.coalesce(col(Attempt.submitted_at), col(Attempt.deadline_at))).label(
                "since"
            ),
            literal(SignalReason.QUIZ_ATTEMPTS_EXHAUSTED.value, type_=String).label("reason"),
            col(Attempt.person_id).label("person_id"),
            col(Attempt.module_id).label("module_id"),
            _no_uuid("version_id"),
            col(Attempt.module_id).label("subject_id"),
            func.count().label("attempts"),
            func.max(col(Attempt.score_percent)).label("best_score"),
            null().cast(UtcDateTime).label("started_at"),
        )
        .join(Quiz, col(Quiz.id) == col(Attempt.quiz_id))
        .group_by(col(Attempt.person_id), col(Attempt.module_id), col(Quiz.attempt_limit))
        .having(
            func.count() >= col(Quiz.attempt_limit),
            func.sum(case((col(Attempt.passed).is_(True), 1), else_=0)) == 0,
            func.sum(case((open_attempt, 1), else_=0)) == 0,
        )
    )


def _overdue_assignments(now: dt.datetime) -> Any:
    """Open assignments past their due date: the progress copied on the assignment's own
    row, read in the signals' order off ``ix_assignments_open_due_at_person_id_module_id``."""
    return core_select(
        col(Assignment.due_at).label("since"),
        OVERDUE,
        col(Assignment.person_id).label("person_id"),
        col(Assignment.module_id).label("module_id"),
        _no_uuid("version_id"),
        col(Assignment.module_id).label("subject_id"),
        null().cast(Integer).label("attempts"),
        null().cast(Float).label("best_score"),
        col(Assignment.started_at).label("started_at"),
    ).where(
        col(Assignment.due_at) < now,
        col(Assignment.closed_at).is_(None),
        col(Assignment.completed_at).is_(None),
    )


def _lapsed_acknowledgements(now: dt.datetime) -> Any:
    return (
        core_select(
            col(Acknowledgement.expires_at).label("since"),
            OVERDUE,
            col(Acknowledgement.person_id).label("person_id"),
            _no_uuid("module_id"),
            col(Acknowledgement.version_id).label("version_id"),
            col(Acknowledgement.version_id).label("subject_id"),
            null().cast(Integer).label("attempts"),
            null().cast(Float).label("best_score"),
            col(Acknowledgement.acknowledged_at).label("started_at"),
        )
        .join(PolicyVersion, col(PolicyVersion.id) == col(Acknowledgement.version_id))
        .where(renewal.lapsed(now))
    )


async def list_signals(
    session: AsyncSession,
    *,
    page: PageParams,
    reason: SignalReason | None,
    person_ids: Sequence[uuid.UUID] | None,
) -> tuple[list[SignalRead], str | None]:
    """People who need guidance, oldest signal first."""
    now = utcnow()
    sources = []
    if reason in (None, SignalReason.QUIZ_ATTEMPTS_EXHAUSTED):
        sources.append(_exhausted_quizzes(now))
    if reason in (None, SignalReason.TRAINING_OVERDUE):
        sources += [_overdue_assignments(now), _lapsed_acknowledgements(now)]
    after = decode_cursor(page.cursor, _KEY_TYPES) if page.cursor else None
    # Each source is cut to the page before the union: the page is among the first
    # ``limit + 1`` of each, and each reads them in order off its own index rather than
    # the union sorting every overdue assignment (a million rows: issue 16).
    parts = [_page_of(source, person_ids, after, page.limit + 1) for source in sources]
    signals = union_all(*parts).subquery("signals")
    key = _key(signals)
    statement = core_select(signals).order_by(*key).limit(page.limit + 1)
    rows = (await session.execute(statement)).all()
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last = rows[-1]
        next_cursor = encode_cursor([last.since, last.reason, last.person_id, last.subject_id])
    names = await _subject_names(session, rows)
    return [_signal_read(row, names[row.subject_id]) for row in rows], next_cursor


def _key(signals: Any) -> list[Any]:
    """The signals' order. The subject (module, or policy version) is never null, so the
    keyset compares."""
    return [signals.c.since, signals.c.reason, signals.c.person_id, signals.c.subject_id]


# What decoding a cursor needs of the key's columns: their types.
_KEY_TYPES = cast(
    "Sequence[InstrumentedAttribute[Any]]",
    _key(_overdue_assignments(dt.datetime.now(dt.UTC)).subquery()),
)


def _page_of(
    source: Any, person_ids: Sequence[uuid.UUID] | None, after: list[Any] | None, limit: int
) -> Any:
    """The first ``limit`` signals of one source after the cursor ``after``."""
    rows = source.subquery()
    key = _key(rows)
    statement = core_select(rows)
    if person_ids is not None:
        statement = statement.where(rows.c.person_id.in_(person_ids))
    if after is not None:
        bound = tuple_(*(literal(v, type_=c.type) for c, v in zip(key, after, strict=True)))
        # The date alone is what an index on it can start from; the whole key decides.
        statement = statement.where(rows.c.since >= after[0], tuple_(*key) > bound)
    # A source's reason is the same on each of its rows: ordered without it, the order is
    # its index's.
    ordered = statement.order_by(rows.c.since, rows.c.person_id, rows.c.subject_id)
    return core_select(ordered.limit(limit).subquery())


async def _subject_names(session: AsyncSession, rows: Sequence[Any]) -> dict[uuid.UUID, str]:
    """Module titles and policy version names for a page of signals, in two queries."""
    names: dict[uuid.UUID, str] = {}
    modules = {row.module_id for row in rows if row.module_id is not None}
    if modules:
        found = await session.execute(
            select(Module.id, Module.title).where(col(Module.id).in_(modules))
        )
        names.update({row.id: f"'{row.title}'" for row in found})
    versions = {row.version_id for row in rows if row.version_id is not None}
    if versions:
        found = await session.execute(
            select(PolicyVersion.id, PolicyVersion.number).where(
                col(PolicyVersion.id).in_(versions)
            )
        )
        names.update(
            {row.id: f"The policy acknowledgement (version {row.number})" for row in found}
        )
    return names


def _signal_read(row: Any, name: str) -> SignalRead:
    reason = SignalReason(row.reason)
    since: dt.datetime = row.since
    if since.tzinfo is None:  # a union column may come back without the UTC marker
        since = since.replace(tzinfo=dt.UTC)
    if reason is SignalReason.QUIZ_ATTEMPTS_EXHAUSTED:
        best = row.best_score or 0
        detail = (
            f"Failed the quiz of {name} in all {row.attempts} allowed attempts "
            f"(best score {best:.0f}%)."
        )
    elif row.version_id is not None:
        detail = f"{name} lapsed on {since:%Y-%m-%d}; asked to renew it, not renewed."
    else:
        progress = "started but not completed" if row.started_at else "not started"
        detail = f"{name} was due {since:%Y-%m-%d}; {progress}."
    return SignalRead(
        person_id=row.person_id,
        reason=reason,
        module_id=row.module_id,
        policy_version_id=row.version_id,
        detail=detail,
        since=since,
    )
