"""The events incidents emits (kit.outbox), written in the transaction of the change.

Payloads carry ids and what a receiver needs to route and word a message: never the
reporter, never the description, never a note.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from incidents.db import outbox
from incidents.decision.models import Decision
from incidents.incident.models import Incident


def _incident(incident: Incident) -> dict[str, Any]:
    return {
        "incident_id": incident.id,
        "person_id": incident.person_id,
        "severity": incident.severity.value,
        "category": incident.category.value,
        "channel": incident.channel.value,
        "status": incident.status.value,
    }


async def reported(session: AsyncSession, *, incident: Incident) -> None:
    await outbox.emit(
        session,
        "incident.reported",
        {**_incident(incident), "occurred_at": incident.occurred_at},
    )


async def decided(
    session: AsyncSession, *, incident: Incident, decision: Decision, escalated: bool
) -> None:
    """``incident.decided`` for the first decision, ``incident.escalated`` for an override
    or a new decision that replaces one in force."""
    await outbox.emit(
        session,
        "incident.escalated" if escalated else "incident.decided",
        {
            **_incident(incident),
            "decision_id": decision.id,
            "kind": decision.kind.value,
            "action": decision.action.value,
            "owner_role": decision.owner_role.value,
            "owner_id": decision.owner_id,
            "deadline_at": decision.deadline_at,
            "contacts": [
                {
                    "person_id": contact.get("person_id"),
                    "kind": contact.get("kind"),
                    "role": contact.get("role"),
                    "group": contact.get("group"),
                }
                for contact in decision.contacts
            ],
        },
    )


async def closed(session: AsyncSession, *, incident: Incident) -> None:
    await outbox.emit(
        session,
        "incident.closed",
        {**_incident(incident), "outcome": incident.outcome.value if incident.outcome else None},
    )


def _deadline(incident: Incident) -> dict[str, Any]:
    return {
        **_incident(incident),
        "decision_id": incident.decision_id,
        "action": incident.action.value if incident.action else None,
        "owner_role": incident.owner_role.value if incident.owner_role else None,
        "owner_id": incident.owner_id,
        "deadline_at": incident.deadline_at,
    }


async def reminder(session: AsyncSession, *, incident: Incident) -> None:
    """``incident.reminder``: the decision's deadline is near and the incident is open."""
    await outbox.emit(session, "incident.reminder", _deadline(incident))


async def overdue(session: AsyncSession, *, incident: Incident, escalate_to: list[str]) -> None:
    """``incident.overdue``: the decision's deadline passed with the incident open;
    ``escalate_to`` is who the rule says is told beyond the owner."""
    await outbox.emit(
        session, "incident.overdue", {**_deadline(incident), "escalate_to": escalate_to}
    )
