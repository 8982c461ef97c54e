"""The training reminder rules (``kit.reminders``): assignments' due dates.

* **Reminder**: ``assignment_reminder_days`` before an open assignment is due, its person
  is reminded (``training.assignment.reminder``). An assignment made inside that window is
  not: its own message carried the due date.
* **Overdue**: once the due date has passed with the module not completed (and the
  assignment not closed), ``training.assignment.overdue``: the person and their manager
  are told.

Each once per assignment (a renewal is a new assignment).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from kit.reminders import ReminderRule, not_noticed, record_notices
from training import events
from training.assignments.models import Assignment, ModuleProgress
from training.assignments.service import progress_join
from training.db import notices_sent
from training.modules.models import Module

REMINDER = "due_reminder"
OVERDUE = "overdue"


def _open_assignments(kind: str) -> Any:
    # Plain columns of three tables: SQLAlchemy core, not an ORM entity.
    return (
        core_select(
            col(Assignment.id),
            col(Assignment.person_id),
            col(Assignment.module_id),
            col(Assignment.due_at),
            col(Assignment.created_at),
            col(Module.title),
        )
        .join(Module, col(Module.id) == col(Assignment.module_id))
        .outerjoin(ModuleProgress, progress_join())
        .where(
            col(Assignment.closed_at).is_(None),
            col(ModuleProgress.completed_at).is_(None),
            not_noticed(notices_sent, col(Assignment.id), kind),
        )
        .order_by(col(Assignment.due_at), col(Assignment.id))
    )


def rules(*, reminder_days: float) -> list[ReminderRule]:
    lead = dt.timedelta(days=reminder_days)

    async def remind(session: AsyncSession, now: dt.datetime, limit: int) -> int:
        rows = (
            await session.execute(
                _open_assignments(REMINDER)
                .where(col(Assignment.due_at) > now, col(Assignment.due_at) <= now + lead)
                .limit(limit)
            )
        ).all()
        for row in rows:
            if row.created_at > row.due_at - lead:
                continue  # assigned inside the window: its own message had the due date
            await events.assignment_due(session, kind="reminder", row=row)
        await record_notices(
            session, notices_sent, kind=REMINDER, subject_ids=[row.id for row in rows]
        )
        return len(rows)

    async def overdue(session: AsyncSession, now: dt.datetime, limit: int) -> int:
        rows = (
            await session.execute(
                _open_assignments(OVERDUE).where(col(Assignment.due_at) <= now).limit(limit)
            )
        ).all()
        for row in rows:
            await events.assignment_due(session, kind="overdue", row=row)
        await record_notices(
            session, notices_sent, kind=OVERDUE, subject_ids=[row.id for row in rows]
        )
        return len(rows)

    return [
        ReminderRule("assignment_due_reminder", remind),
        ReminderRule("assignment_overdue", overdue),
    ]
