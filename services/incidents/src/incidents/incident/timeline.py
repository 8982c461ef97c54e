"""Appending to an incident's timeline (there is nothing else one can do to it)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.incident.models import TimelineEntry, TimelineKind
from kit.db import table_of, utcnow
from kit.identity import Caller

SYSTEM_ACTOR = "service:incidents"

# Built once: the entries a decision writes go in one statement, not one ORM flush each.
_INSERT = insert(table_of(TimelineEntry))
# In a session's ``info``: entries ``write_later`` holds for the next ``write``.
_LATER = "incidents_timeline_later"


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
        **row(incident_id=incident_id, kind=kind, summary=summary, actor=actor, data=data)
    )
    session.add(entry)
    return entry


def row(
    *,
    incident_id: uuid.UUID,
    kind: TimelineKind,
    summary: str,
    actor: Caller | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An entry as ``write`` takes it (what ``append`` would add)."""
    return {
        "incident_id": incident_id,
        "kind": kind,
        "actor": actor.principal_key if actor is not None else SYSTEM_ACTOR,
        "actor_id": actor.person_id if actor is not None else None,
        "summary": summary,
        "data": data or {},
        "at": utcnow(),
    }


async def write(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Append ``rows`` in their order, in one statement: for entries nobody reads back in
    the transaction (their ``seq`` is not needed). Entries ``append``ed before are
    flushed first, so the order they were written in stays the order of ``seq``."""
    rows = [*session.sync_session.info.pop(_LATER, ()), *rows]
    if not rows:
        return
    await session.flush()
    await session.execute(_INSERT, rows)


def write_later(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Hold ``rows`` for the transaction's next ``write``, which writes them first, in its
    statement: for the entries of an incident that is not in the database yet (a new
    report, written once with its verdict). The caller makes sure that ``write`` comes
    before the commit (``decision.service`` writes a new report's entries with the
    verdict's, or alone)."""
    session.sync_session.info.setdefault(_LATER, []).extend(rows)
