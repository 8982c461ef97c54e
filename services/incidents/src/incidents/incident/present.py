"""Rendering an incident for a caller: each view shows only what it may."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from incidents.decision.contacts import Party
from incidents.decision.models import Decision
from incidents.domain import ACTIONABLE_STATUSES
from incidents.incident import access
from incidents.incident.models import TimelineEntry
from incidents.incident.schemas import (
    DecisionRead,
    IncidentRead,
    IncidentSummary,
    TimelineEntryRead,
)
from incidents.incident.service import Seen
from kit.db import utcnow
from kit.identity import Caller

HIDDEN_ACTOR = "reporter"


def summary(caller: Caller, seen: Seen) -> IncidentSummary:
    return IncidentSummary.model_validate(_summary_fields(caller, seen))


def detail(caller: Caller, seen: Seen, decisions: Sequence[Decision]) -> IncidentRead:
    shown = [decision(caller, seen, d) for d in decisions] if _decided(seen) else []
    in_force = next((d for d in shown if d.id == seen.incident.decision_id), None)
    incident = seen.incident
    return IncidentRead.model_validate(
        {
            **_summary_fields(caller, seen),
            "links": incident.links,
            "clauses": incident.clauses,
            "description": incident.description,
            "decision": in_force,
            "decisions": shown,
        }
    )


def decision(caller: Caller, seen: Seen, row: Decision) -> DecisionRead:
    """An owner passed on because the reporter held the role says who reported to anyone
    who knows the scheme: only those who may see the reporter learn why."""
    explained = row.owner_conflict is not None and (
        row.owner_conflict != Party.REPORTER or _sees_reporter(caller, seen)
    )
    return DecisionRead.model_validate(row).model_copy(
        update={
            "owner_conflict_of_interest": explained,
            "owner_note": row.owner_note if explained else None,
        }
    )


def timeline_entry(caller: Caller, seen: Seen, entry: TimelineEntry) -> TimelineEntryRead:
    """The reporter's own entries do not name them to those who may not know who reported,
    nor does a decision's note that the reporter could not own the incident."""
    sees_reporter = _sees_reporter(caller, seen)
    hidden = not sees_reporter and entry.actor_id == seen.incident.reporter_id
    data = entry.data
    if not sees_reporter and data.get("owner_conflict") == Party.REPORTER:
        data = {k: v for k, v in data.items() if k not in ("owner_conflict", "owner_note")}
    return TimelineEntryRead(
        seq=entry.seq or 0,
        kind=entry.kind,
        at=entry.at,
        actor=HIDDEN_ACTOR if hidden else entry.actor,
        actor_id=None if hidden else entry.actor_id,
        summary=entry.summary,
        data=data,
    )


def _sees_reporter(caller: Caller, seen: Seen) -> bool:
    return access.sees_reporter(caller, incident=seen.incident, view=seen.view)


def _decided(seen: Seen) -> bool:
    return access.sees_decision(seen.view)


def _summary_fields(caller: Caller, seen: Seen) -> dict[str, Any]:
    incident = seen.incident
    decided = _decided(seen)
    return {
        "id": incident.id,
        "view": seen.view,
        "person_id": incident.person_id,
        "reporter_id": incident.reporter_id if _sees_reporter(caller, seen) else None,
        "channel": incident.channel,
        "occurred_at": incident.occurred_at,
        "category": incident.category,
        "severity": incident.severity,
        "status": incident.status,
        "outcome": incident.outcome if decided else None,
        "action": incident.action if decided else None,
        "owner_role": incident.owner_role if decided else None,
        "owner_id": incident.owner_id if decided else None,
        "deadline_at": incident.deadline_at if decided else None,
        "overdue": decided and _overdue(seen),
        "remedial_engagement_id": incident.remedial_engagement_id if decided else None,
        "created_at": incident.created_at,
        "updated_at": incident.updated_at,
        "closed_at": incident.closed_at,
    }


def _overdue(seen: Seen) -> bool:
    incident = seen.incident
    return (
        incident.status in ACTIONABLE_STATUSES
        and incident.deadline_at is not None
        and incident.deadline_at < utcnow()
    )
