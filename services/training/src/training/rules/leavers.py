"""Who left, and when: recorded by the reconciliation for training's retention.

Training learns that someone left in its reconciliation against the directory (they are no
longer among the active people). For everyone it holds quiz attempts or community posts
about, it records the day they left as the directory says (``deactivated_at``; the day it
first noticed when the directory has no date), and forgets a returner, whose data is theirs
again. Idempotent like the reconciliation: a leaver already recorded keeps their date.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, insert, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import table_of
from kit.privacy import ERASED_PERSON_ID
from training.community.models import Reply, Thread
from training.directory import Directory
from training.quizzes.models import Attempt
from training.rules.models import Leaver

CHUNK = 500


async def record_leavers(
    session: AsyncSession, *, directory: Directory, active: set[uuid.UUID], now: dt.datetime
) -> int:
    """Record the new leavers among the people training holds attempts or posts about,
    forget the returners; how many were recorded."""
    leavers = table_of(Leaver)
    recorded = set(await session.scalars(select(leavers.c.person_id)))
    returned = sorted(recorded & active)
    for start in range(0, len(returned), CHUNK):
        chunk = returned[start : start + CHUNK]
        await session.execute(delete(leavers).where(leavers.c.person_id.in_(chunk)))
    attempts, threads, replies = table_of(Attempt), table_of(Thread), table_of(Reply)
    held = set(
        await session.scalars(
            union(
                select(attempts.c.person_id),
                select(threads.c.author_id),
                select(replies.c.author_id),
            )
        )
    )
    new = held - active - recorded - {ERASED_PERSON_ID}
    if not new:
        return 0
    left = {p.id: p.deactivated_at for p in await directory.people(ids=new, active=False)}
    rows = [
        {"person_id": person_id, "left_at": left.get(person_id) or now, "recorded_at": now}
        for person_id in sorted(new)
    ]
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(leavers), rows[start : start + CHUNK])
    return len(rows)
