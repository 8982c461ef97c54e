"""The incidents reminder rules (``kit.reminders``): deadlines of decisions.

* **Reminder**: ``deadline_reminder_hours`` before the deadline of the decision in force,
  with the incident still open, its owner is reminded (``incident.reminder``, on the
  timeline). A decision taken inside that window is not reminded of: its own message
  carried the deadline.
* **Missed**: once the deadline has passed with the incident still open, the owner and
  whoever the deciding rule names in ``on_deadline_missed`` (default: the owner's manager
  and HR; an HR override, which follows no rule, gets the default) are told
  (``incident.overdue``), and the escalation is recorded on the timeline.

Each is given once per decision: a new decision (an override, a recount) has a deadline of
its own, reminded of and escalated afresh.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import and_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from incidents import events
from incidents.db import notices_sent
from incidents.decision.models import Decision
from incidents.domain import DEFAULT_ON_DEADLINE_MISSED, OWNER_MANAGER
from incidents.incident import timeline
from incidents.incident.models import Incident, TimelineKind, actionable
from incidents.policy.models import EscalationRule
from kit.reminders import ReminderRule, not_noticed, record_notices

REMINDER = "deadline_reminder"
MISSED = "deadline_missed"

_PARTIES = {OWNER_MANAGER: "the owner's manager", "manager": "the person's manager"}


def _party(spec: str) -> str:
    if spec.startswith("group:"):
        return f"the {spec.removeprefix('group:')} group"
    return _PARTIES.get(spec, spec.upper() if spec == "hr" else spec.capitalize())


def _when(instant: dt.datetime | None) -> str:
    return f"{instant.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" if instant else "?"


def rules(*, reminder_hours: float) -> list[ReminderRule]:
    lead = dt.timedelta(hours=reminder_hours)

    async def remind(session: AsyncSession, now: dt.datetime, limit: int) -> int:
        rows = (
            await session.execute(
                select(Incident, col(Decision.created_at))
                .join(Decision, col(Decision.id) == col(Incident.decision_id))
                .where(
                    actionable(),
                    col(Incident.deadline_at) > now,
                    col(Incident.deadline_at) <= now + lead,
                    not_noticed(notices_sent, col(Incident.decision_id), REMINDER),
                )
                .order_by(col(Incident.deadline_at), col(Incident.id))
                .limit(limit)
            )
        ).all()
        for incident, decided_at in rows:
            assert incident.deadline_at is not None
            if decided_at > incident.deadline_at - lead:
                continue  # decided inside the window: its own message had the deadline
            await events.reminder(session, incident=incident)
            timeline.append(
                session,
                incident_id=incident.id,
                kind=TimelineKind.DEADLINE_REMINDER,
                summary=f"The owner was reminded of the deadline, {_when(incident.deadline_at)}.",
                data={"decision_id": str(incident.decision_id)},
            )
        await record_notices(session, notices_sent, kind=REMINDER, subject_ids=_decisions(rows))
        return len(rows)

    async def missed(session: AsyncSession, now: dt.datetime, limit: int) -> int:
        rows = (
            await session.execute(
                select(Incident, col(EscalationRule.on_deadline_missed))
                .join(Decision, col(Decision.id) == col(Incident.decision_id))
                .outerjoin(
                    EscalationRule,
                    and_(
                        col(EscalationRule.policy_id) == col(Decision.policy_id),
                        col(EscalationRule.position) == col(Decision.rule_position),
                    ),
                )
                .where(
                    actionable(),
                    col(Incident.deadline_at) <= now,
                    not_noticed(notices_sent, col(Incident.decision_id), MISSED),
                )
                .order_by(col(Incident.deadline_at), col(Incident.id))
                .limit(limit)
            )
        ).all()
        for incident, on_missed in rows:
            escalate_to = list(DEFAULT_ON_DEADLINE_MISSED if on_missed is None else on_missed)
            await events.overdue(session, incident=incident, escalate_to=escalate_to)
            owner = _party(incident.owner_role.value) if incident.owner_role else "the owner"
            told = ", ".join([f"the owner ({owner})", *(_party(p) for p in escalate_to)])
            timeline.append(
                session,
                incident_id=incident.id,
                kind=TimelineKind.DEADLINE_MISSED,
                summary=f"The deadline, {_when(incident.deadline_at)}, passed with the "
                f"incident still open. Told: {told}.",
                data={
                    "decision_id": str(incident.decision_id),
                    "deadline_at": incident.deadline_at.isoformat()
                    if incident.deadline_at
                    else None,
                    "escalated_to": escalate_to,
                },
            )
        await record_notices(session, notices_sent, kind=MISSED, subject_ids=_decisions(rows))
        return len(rows)

    return [
        ReminderRule("incident_deadline_reminder", remind),
        ReminderRule("incident_deadline_missed", missed),
    ]


def _decisions(rows: Any) -> list[uuid.UUID]:
    return [incident.decision_id for incident, _ in rows if incident.decision_id is not None]
