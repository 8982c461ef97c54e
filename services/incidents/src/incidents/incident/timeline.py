"""Appending to an incident's timeline (there is nothing else one can do to it)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from incidents.incident.models import TimelineEntry, TimelineKind
from kit.identity import Caller

SYSTEM_ACTOR = "service:incidents"


def append(
    session: AsyncSession,
    *,
    incident_id: uuid.UUID,
    kind: TimelineKind,
    summary: str,
    actor: Caller | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    """``actor`` is who did it; ``None`` is the incidents service itself."""
    entry = TimelineEntry(
        incident_id=incident_id,
        kind=kind,
        actor=actor.principal_key if actor is not None else SYSTEM_ACTOR,
        actor_id=actor.person_id if actor is not None else None,
        summary=summary,
        data=data or {},
    )
    session.add(entry)
    return entry
