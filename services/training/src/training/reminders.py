"""The training reminder rules (``kit.reminders``): assignments' due dates, and the
expiry of policy acknowledgements whose renewal was asked for.

* **Reminder**: ``assignment_reminder_days`` before an open assignment is due, its person
  is reminded (``training.assignment.reminder``). An assignment made inside that window is
  not: its own message carried the due date.
* **Overdue**: once the due date has passed with the module not completed (and the
  assignment not closed), ``training.assignment.overdue``: the person and their manager
  are told.

Each once per assignment (a renewal is a new assignment).

Acknowledgements the same way (the reconciliation asked the person to renew them,
``training.policy.renewal``), each once per acknowledgement (a renewal is a new one):

* **Reminder**: ``assignment_reminder_days`` before the latest acknowledgement of the
  current version expires, ``training.acknowledgement.reminder`` to the person; not when
  the request came inside that window (it carried the date).
* **Overdue**: once it lapsed (:func:`training.policy.renewal.lapsed`),
  ``training.acknowledgement.overdue``: the person and their manager are told. A leaver's
  request is withdrawn, so a leaver is told nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
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
from training.policy.models import Acknowledgement, Policy, PolicyVersion
from training.policy.renewal import awaiting_renewal, lapsed

REMINDER = "due_reminder"
OVERDUE = "overdue"
ACK_REMINDER = "acknowledgement_reminder"
ACK_OVERDUE = "acknowledgement_overdue"


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


async def _give(
    session: AsyncSession,
    due: Any,
    *,
    notice: str,
    emit: Callable[[Any], Awaitable[None]],
    already_told: Callable[[Any], bool] = lambda row: False,
) -> int:
    """Emit the notice for each subject ``due`` selects (``id``: its subject), unless its
    own message already told what this one would, and record it for all of them, so none
    is looked at again."""
    rows = (await session.execute(due)).all()
    for row in rows:
        if not already_told(row):
            await emit(row)
    await record_notices(session, notices_sent, kind=notice, subject_ids=[row.id for row in rows])
    return len(rows)


def rules(*, reminder_days: float) -> list[ReminderRule]:
    lead = dt.timedelta(days=reminder_days)

    async def remind(session: AsyncSession, now: dt.datetime, limit: int) -> int:
        return await _give(
            session,
            _open_assignments(REMINDER)
            .where(col(Assignment.due_at) > now, col(Assignment.due_at) <= now + lead)
            .limit(limit),
            notice=REMINDER,
            emit=lambda row: events.assignment_due(session, kind="reminder", row=row),
            # Assigned inside the window: its own message had the due date.
            already_told=lambda row: row.created_at > row.due_at - lead,
        )

    async def overdue(session: AsyncSession, now: dt.datetime, limit: int) -> int:
        return await _give(
            session,
            _open_assignments(OVERDUE).where(col(Assignment.due_at) <= now).limit(limit),
            notice=OVERDUE,
            emit=lambda row: events.assignment_due(session, kind="overdue", row=row),
        )

    return [
        ReminderRule("assignment_due_reminder", remind),
        ReminderRule("assignment_overdue", overdue),
        *_acknowledgement_rules(lead),
    ]


def _acknowledgements(kind: str) -> Any:
    """Acknowledgements with their version and policy, without a ``kind`` notice."""
    return (
        core_select(
            col(Acknowledgement.id),
            col(Acknowledgement.person_id),
            col(Acknowledgement.expires_at),
            col(Acknowledgement.renewal_requested_at),
            col(PolicyVersion.policy_id),
            col(PolicyVersion.id).label("version_id"),
            col(PolicyVersion.number),
            col(Policy.title),
        )
        .join(PolicyVersion, col(PolicyVersion.id) == col(Acknowledgement.version_id))
        .join(Policy, col(Policy.id) == col(PolicyVersion.policy_id))
        .where(not_noticed(notices_sent, col(Acknowledgement.id), kind))
        .order_by(col(Acknowledgement.expires_at), col(Acknowledgement.id))
    )


def _acknowledgement_rules(lead: dt.timedelta) -> list[ReminderRule]:
    async def remind(session: AsyncSession, now: dt.datetime, limit: int) -> int:
        return await _give(
            session,
            _acknowledgements(ACK_REMINDER)
            .where(
                awaiting_renewal(),
                col(Acknowledgement.expires_at) > now,
                col(Acknowledgement.expires_at) <= now + lead,
            )
            .limit(limit),
            notice=ACK_REMINDER,
            emit=lambda row: events.acknowledgement_due(session, kind="reminder", row=row),
            # Asked to renew inside the window: the request had the date.
            already_told=lambda row: row.renewal_requested_at > row.expires_at - lead,
        )

    async def overdue(session: AsyncSession, now: dt.datetime, limit: int) -> int:
        return await _give(
            session,
            _acknowledgements(ACK_OVERDUE).where(lapsed(now)).limit(limit),
            notice=ACK_OVERDUE,
            emit=lambda row: events.acknowledgement_due(session, kind="overdue", row=row),
        )

    return [
        ReminderRule("acknowledgement_renewal_reminder", remind),
        ReminderRule("acknowledgement_overdue", overdue),
    ]
