"""What incidents holds about a person, for the privacy officer (through the gateway).

Incidents about the person are exported exactly as the person concerned sees them
(``present.detail`` in the subject's view): the reporter is protected here as in the API,
and so are HR's working notes on the timeline, which may name the reporter and others.
Incidents they reported are exported in the reporter's view.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python
from sqlalchemy import delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from incidents.decision.models import Assignment, PersonRecord
from incidents.decision.service import lock_incident
from incidents.domain import OPEN_STATUSES
from incidents.errors import IncidentNotFound
from incidents.incident import access, present, timeline
from incidents.incident.models import Incident, TimelineEntry, TimelineKind
from incidents.incident.service import Seen, decisions_of
from kit.db import SessionDep, table_of
from kit.errors import Conflict, Forbidden
from kit.fields import Text
from kit.identity import Caller, CallerDep, PrincipalKind, Role, UserDep
from kit.privacy import (
    ERASE_PATH,
    ERASED_PERSON_ID,
    PERSON_PATH,
    ErasureOutcome,
    GatewayOnlyDep,
    KeptItem,
)

router = APIRouter(prefix="/api/v1/incidents", tags=["privacy"])


@router.get(PERSON_PATH)
async def person_data(
    person_id: uuid.UUID, session: SessionDep, caller: GatewayOnlyDep
) -> dict[str, Any]:
    """The incidents about a person as they see them (never the reporter), and the ones
    they reported (the gateway only, for a right-of-access export)."""
    return await exported(session, person_id=person_id)


async def exported(session: AsyncSession, *, person_id: uuid.UUID) -> dict[str, Any]:
    # The person as a plain employee: whatever roles they hold, the subject's view.
    person = Caller(
        subject=str(person_id), kind=PrincipalKind.USER, roles=frozenset({Role.EMPLOYEE})
    )
    about = await _as_seen_by(session, person, col(Incident.person_id) == person_id)
    reported = await _as_seen_by(session, person, col(Incident.reporter_id) == person_id)
    return {"incidents_about_them": about, "incidents_they_reported": reported}


async def _as_seen_by(session: AsyncSession, person: Caller, condition: Any) -> list[Any]:
    shown = []
    incidents = await session.scalars(
        select(Incident).where(condition).order_by(col(Incident.created_at), col(Incident.id))
    )
    for incident in list(incidents):
        assignments = list(
            await session.scalars(
                select(Assignment).where(col(Assignment.incident_id) == incident.id)
            )
        )
        view = access.view_of(person, incident=incident, assignments=assignments)
        if view is None:
            continue
        seen = Seen(incident=incident, view=view, assignments=assignments)
        detail = present.detail(person, seen, await decisions_of(session, incident=incident))
        shown.append(to_jsonable_python(detail.model_dump()))
    return shown


# -- legal hold -------------------------------------------------------------------------


class LegalHoldChange(BaseModel):
    reason: Text = Field(min_length=1, max_length=1000, description="Why, for the timeline.")


class LegalHoldRead(BaseModel):
    incident_id: uuid.UUID
    legal_hold: str | None = Field(description="The reason it is held; `null` when not held.")


async def legal_or_privacy(caller: UserDep) -> Caller:
    if not caller.has_role(Role.LEGAL, Role.PRIVACY):
        raise Forbidden("Only legal or the privacy officer set or lift a legal hold.")
    return caller


LegalOrPrivacyDep = Annotated[Caller, Depends(legal_or_privacy)]


@router.put("/{incident_id}/legal-hold", response_model=LegalHoldRead)
async def set_legal_hold(
    incident_id: uuid.UUID, data: LegalHoldChange, session: SessionDep, caller: LegalOrPrivacyDep
) -> LegalHoldRead:
    """Put the incident under legal hold (legal, privacy officer): erasure and retention
    leave it alone until the hold is lifted. Recorded on the timeline with the reason."""
    incident = await _held(session, incident_id)
    incident.legal_hold = data.reason
    timeline.append(
        session,
        incident_id=incident.id,
        kind=TimelineKind.LEGAL_HOLD_SET,
        actor=caller,
        summary=f"Legal hold set: {data.reason}",
        data={"reason": data.reason},
    )
    session.add(incident)
    await session.flush()
    return LegalHoldRead(incident_id=incident.id, legal_hold=incident.legal_hold)


@router.post("/{incident_id}/legal-hold/lift", response_model=LegalHoldRead)
async def lift_legal_hold(
    incident_id: uuid.UUID, data: LegalHoldChange, session: SessionDep, caller: LegalOrPrivacyDep
) -> LegalHoldRead:
    """Lift the incident's legal hold (legal, privacy officer), with a reason on the
    timeline; 409 if it is not held."""
    incident = await _held(session, incident_id)
    if incident.legal_hold is None:
        raise Conflict(f"Incident {incident_id} is not under legal hold.")
    incident.legal_hold = None
    timeline.append(
        session,
        incident_id=incident.id,
        kind=TimelineKind.LEGAL_HOLD_LIFTED,
        actor=caller,
        summary=f"Legal hold lifted: {data.reason}",
        data={"reason": data.reason},
    )
    session.add(incident)
    await session.flush()
    return LegalHoldRead(incident_id=incident.id, legal_hold=None)


class LegalHolds(BaseModel):
    incident_ids: list[uuid.UUID] = Field(description="Every incident under legal hold now.")


@router.get("/legal-holds", response_model=LegalHolds)
async def legal_holds(session: SessionDep, caller: CallerDep) -> LegalHolds:
    """The incidents under legal hold now (legal, the privacy officer, and the coaching
    service, whose retention keeps the notes of an engagement that came from one)."""
    if not (caller.is_service("coaching") or caller.has_role(Role.LEGAL, Role.PRIVACY)):
        raise Forbidden("Only legal, the privacy officer and coaching see the legal holds.")
    # Holds are a few deliberate legal acts, so the whole list is one short answer.
    held = await session.scalars(
        select(Incident.id).where(col(Incident.legal_hold).is_not(None)).order_by(col(Incident.id))
    )
    return LegalHolds(incident_ids=list(held))


async def _held(session: AsyncSession, incident_id: uuid.UUID) -> Incident:
    incident = await lock_incident(session, incident_id=incident_id)
    if incident is None:
        raise IncidentNotFound(f"No incident {incident_id}.")
    return incident


# -- erasure ----------------------------------------------------------------------------

ERASED_TEXT = "[erased]"


@router.post(ERASE_PATH, response_model=ErasureOutcome)
async def erase_person(
    person_id: uuid.UUID, session: SessionDep, caller: GatewayOnlyDep
) -> ErasureOutcome:
    """Erase what incidents holds about a person (the gateway only, for the privacy
    officer): closed incidents about them are anonymised (the person and the texts
    replaced, the incident kept for the counts), their name taken off incidents they
    reported; open incidents and those under legal hold are kept, and said so."""
    return await erase(session, person_id=person_id)


async def erase(session: AsyncSession, *, person_id: uuid.UUID) -> ErasureOutcome:
    incidents = table_of(Incident)
    entries = table_of(TimelineEntry)
    kept: list[KeptItem] = []
    erased = {"incidents_anonymised": 0, "incidents_reported_anonymised": 0}
    rows = await session.scalars(
        select(Incident).where(
            or_(col(Incident.person_id) == person_id, col(Incident.reporter_id) == person_id)
        )
    )
    for incident in list(rows):
        if incident.legal_hold is not None:
            kept.append(
                KeptItem(
                    what="incident", id=str(incident.id), why=f"legal hold: {incident.legal_hold}"
                )
            )
            continue
        if incident.status in OPEN_STATUSES:
            kept.append(
                KeptItem(
                    what="incident",
                    id=str(incident.id),
                    why=f"the incident is open ({incident.status.value})",
                )
            )
            continue
        values: dict[str, Any] = {}
        if incident.reporter_id == person_id:
            values["reporter_id"] = ERASED_PERSON_ID
            erased["incidents_reported_anonymised"] += 1
        if incident.person_id == person_id:
            values.update(person_id=ERASED_PERSON_ID, description=ERASED_TEXT, links=[])
            erased["incidents_anonymised"] += 1
            # The timeline is append-only for the API; erasure is the one writer past it.
            await session.execute(
                update(entries)
                .where(entries.c.incident_id == incident.id)
                .values(summary=ERASED_TEXT, data={})
            )
        await session.execute(
            update(incidents).where(incidents.c.id == incident.id).values(**values)
        )
    records = await session.execute(
        delete(table_of(PersonRecord)).where(table_of(PersonRecord).c.person_id == person_id)
    )
    erased["person_records"] = int(getattr(records, "rowcount", 0) or 0)
    session.expunge_all()
    return ErasureOutcome(erased=erased, kept=kept)
