"""The training retention rules (``kit.retention``), from ``TRAINING_RETENTION_*``.

Of the people who left (``leavers``, recorded by the reconciliation with the directory's
leave date), ``retention_left_days`` after they left:

* their quiz attempts are deleted, with each question's result;
* their community threads and replies are anonymised: the author replaced and the text
  removed, so that other people's replies keep their thread.

Their completions, acknowledgements and assignments stay (what the reports count). A
returner is no longer a leaver, so nothing of theirs is removed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import table_of
from kit.privacy import ERASED_PERSON_ID
from kit.retention import RetentionRule
from training.community.models import Reply, Thread
from training.quizzes.models import Attempt, QuestionResult
from training.rules.models import Leaver

REMOVED_TEXT = "[removed by retention: the author left]"

Apply = Callable[[AsyncSession, dt.datetime, int], Awaitable[int]]


def rules(*, left_days: int) -> list[RetentionRule]:
    def gone_before(now: dt.datetime) -> Select[tuple[object]]:
        leavers = table_of(Leaver)
        cutoff = now - dt.timedelta(days=left_days)
        return select(leavers.c.person_id).where(leavers.c.left_at < cutoff)

    async def attempts(session: AsyncSession, now: dt.datetime, limit: int) -> int:
        table, results = table_of(Attempt), table_of(QuestionResult)
        ids = list(
            await session.scalars(
                select(table.c.id).where(table.c.person_id.in_(gone_before(now))).limit(limit)
            )
        )
        if ids:
            await session.execute(delete(results).where(results.c.attempt_id.in_(ids)))
            await session.execute(delete(table).where(table.c.id.in_(ids)))
        return len(ids)

    def anonymise(model: type[Thread] | type[Reply]) -> Apply:
        async def apply(session: AsyncSession, now: dt.datetime, limit: int) -> int:
            table = table_of(model)
            ids = list(
                await session.scalars(
                    select(table.c.id).where(table.c.author_id.in_(gone_before(now))).limit(limit)
                )
            )
            if ids:
                values = {"author_id": ERASED_PERSON_ID, "body": REMOVED_TEXT}
                if model is Thread:
                    values["title"] = REMOVED_TEXT
                await session.execute(update(table).where(table.c.id.in_(ids)).values(values))
            return len(ids)

        return apply

    return [
        RetentionRule("quiz_attempts_deleted", attempts),
        RetentionRule("community_threads_anonymised", anonymise(Thread)),
        RetentionRule("community_replies_anonymised", anonymise(Reply)),
    ]
