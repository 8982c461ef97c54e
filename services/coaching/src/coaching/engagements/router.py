"""Engagement, session and history routes: parse, authorise, call the service, return."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from coaching import upstream
from coaching.deps import CallerDep, GatewayDep, SessionDep
from coaching.engagements import rules, service
from coaching.engagements.service import EngagementFilters, Visible
from coaching.models import EngagementStatus, Track
from coaching.schemas import (
    CoachAssignment,
    EngagementCancellation,
    EngagementCompletion,
    EngagementCreate,
    EngagementRead,
    History,
    RemedialCounts,
    SessionCreate,
    SessionRead,
    SessionUpdate,
)
from kit.audit import AUDITED_READ, AuditAction, AuditedObject, Auditor, AuditorDep
from kit.concurrency import ETagged, IfMatch, Located, set_etag
from kit.db import database_of
from kit.errors import Forbidden
from kit.pagination import Page, PageParamsDep

router = APIRouter(tags=["engagements"])

MAX_WINDOW_DAYS = 3650


async def visible_engagement(
    engagement_id: uuid.UUID, session: SessionDep, gateway: GatewayDep, caller: CallerDep
) -> Visible:
    return await service.visible_engagement(
        session, gateway, caller=caller, engagement_id=engagement_id
    )


VisibleDep = Annotated[Visible, Depends(visible_engagement)]


def _engagement(response: Response, visible: Visible) -> EngagementRead:
    set_etag(response, visible.engagement.version)
    return EngagementRead.model_validate(visible.engagement)


@router.post(
    "/engagements",
    response_model=EngagementRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "This incident already has an engagement: here it is."},
        409: {"description": "The incident is linked to another person, or the coach is full."},
    },
)
async def create_engagement(
    data: EngagementCreate,
    response: Located,
    session: SessionDep,
    gateway: GatewayDep,
    caller: CallerDep,
) -> EngagementRead:
    """Open an engagement (proposed). One per incident: a repeat for an incident answers 200
    with the first. Honours `Idempotency-Key`."""
    result = await service.create_engagement(session, gateway, caller=caller, data=data)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    set_etag(response, result.engagement.version)
    response.headers["Location"] = f"/api/v1/coaching/engagements/{result.engagement.id}"
    return EngagementRead.model_validate(result.engagement)


@router.get("/engagements", response_model=Page[EngagementRead], dependencies=[AUDITED_READ])
async def list_engagements(
    session: SessionDep,
    gateway: GatewayDep,
    caller: CallerDep,
    page: PageParamsDep,
    auditor: AuditorDep,
    coachee_id: uuid.UUID | None = None,
    coach_id: uuid.UUID | None = None,
    track: Track | None = None,
    status: EngagementStatus | None = None,
) -> Page[EngagementRead]:
    """Engagements the caller may see, newest first: HR all; others their own, those they
    coach, and (with `coachee_id`) a direct report's. Each one listed is recorded in the
    access audit (its goals and closing note are notes about the coachee)."""
    filters = EngagementFilters(
        coachee_id=coachee_id, coach_id=coach_id, track=track, status=status
    )
    rows, next_cursor = await service.list_engagements(
        session, gateway, caller=caller, filters=filters, page=page
    )
    await auditor.record_many(
        session,
        AuditAction.ENGAGEMENT_LISTED,
        [
            AuditedObject(object_type="engagement", object_id=row.id, person_id=row.coachee_id)
            for row in rows
        ],
    )
    return Page(items=[EngagementRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/engagements/{engagement_id}", response_model=EngagementRead, dependencies=[AUDITED_READ]
)
async def get_engagement(
    visible: VisibleDep, response: ETagged, session: SessionDep, auditor: AuditorDep
) -> EngagementRead:
    """One engagement (never with session notes). Recorded in the access audit (its goals
    and closing note are notes about the coachee)."""
    await auditor.record(
        session,
        AuditAction.ENGAGEMENT_READ,
        object_type="engagement",
        object_id=visible.engagement.id,
        person_id=visible.engagement.coachee_id,
        detail=f"as {visible.audience.value}",
    )
    return _engagement(response, visible)


@router.put("/engagements/{engagement_id}/coach", response_model=EngagementRead)
async def assign_coach(
    data: CoachAssignment,
    visible: VisibleDep,
    response: Response,
    session: SessionDep,
    caller: CallerDep,
    if_match: IfMatch,
) -> EngagementRead:
    """Assign the coach (HR; or a coach taking it on). Respects the coach's capacity."""
    await service.assign_coach(
        session, caller=caller, visible=visible, coach_id=data.coach_id, if_match=if_match
    )
    return _engagement(response, visible)


@router.post("/engagements/{engagement_id}/start", response_model=EngagementRead)
async def start_engagement(
    visible: VisibleDep,
    response: Response,
    session: SessionDep,
    caller: CallerDep,
    if_match: IfMatch,
) -> EngagementRead:
    """proposed → active (the assigned coach or HR; a coach must be assigned)."""
    await service.start(session, caller=caller, visible=visible, if_match=if_match)
    return _engagement(response, visible)


@router.post("/engagements/{engagement_id}/complete", response_model=EngagementRead)
async def complete_engagement(
    data: EngagementCompletion,
    visible: VisibleDep,
    response: Response,
    session: SessionDep,
    caller: CallerDep,
    if_match: IfMatch,
) -> EngagementRead:
    """active → completed with an outcome (the assigned coach)."""
    await service.complete(
        session,
        caller=caller,
        visible=visible,
        outcome=data.outcome,
        summary=data.summary,
        if_match=if_match,
    )
    return _engagement(response, visible)


@router.post("/engagements/{engagement_id}/cancel", response_model=EngagementRead)
async def cancel_engagement(
    data: EngagementCancellation,
    visible: VisibleDep,
    response: Response,
    session: SessionDep,
    caller: CallerDep,
    if_match: IfMatch,
) -> EngagementRead:
    """proposed or active → cancelled (the coach, HR, or the coachee withdrawing their own
    proposed self-nomination)."""
    await service.cancel(
        session, caller=caller, visible=visible, reason=data.reason, if_match=if_match
    )
    return _engagement(response, visible)


# -- sessions -------------------------------------------------------------------------------


@router.post(
    "/engagements/{engagement_id}/sessions",
    response_model=SessionRead,
    status_code=status.HTTP_201_CREATED,
)
async def schedule_session(
    data: SessionCreate, visible: VisibleDep, response: ETagged, session: SessionDep
) -> SessionRead:
    """Schedule a session of an active engagement (its coach)."""
    row = await service.schedule_session(session, visible=visible, data=data)
    set_etag(response, row.version)
    return service.session_read(row, audience=visible.audience)


async def _audit_notes(session: AsyncSession, auditor: Auditor, visible: Visible) -> None:
    """A read that shows session notes goes into the access audit."""
    if rules.sees_notes(visible.audience):
        await auditor.record(
            session,
            AuditAction.ENGAGEMENT_NOTES_READ,
            object_type="engagement",
            object_id=visible.engagement.id,
            person_id=visible.engagement.coachee_id,
            detail=f"as {visible.audience.value}",
        )


@router.get(
    "/engagements/{engagement_id}/sessions",
    response_model=Page[SessionRead],
    dependencies=[AUDITED_READ],
)
async def list_sessions(
    visible: VisibleDep, session: SessionDep, page: PageParamsDep, auditor: AuditorDep
) -> Page[SessionRead]:
    """An engagement's sessions in date order; notes only for the coach and the coachee
    (a read with notes is recorded in the access audit)."""
    rows, next_cursor = await service.list_sessions(session, visible=visible, page=page)
    await _audit_notes(session, auditor, visible)
    return Page(
        items=[service.session_read(r, audience=visible.audience) for r in rows],
        next_cursor=next_cursor,
    )


@router.get(
    "/engagements/{engagement_id}/sessions/{session_id}",
    response_model=SessionRead,
    dependencies=[AUDITED_READ],
)
async def get_session(
    session_id: uuid.UUID,
    visible: VisibleDep,
    response: ETagged,
    session: SessionDep,
    auditor: AuditorDep,
) -> SessionRead:
    """One session; notes only for the coach and the coachee (a read with notes is
    recorded in the access audit)."""
    row = await service.get_session(session, visible=visible, session_id=session_id)
    await _audit_notes(session, auditor, visible)
    set_etag(response, row.version)
    return service.session_read(row, audience=visible.audience)


@router.patch("/engagements/{engagement_id}/sessions/{session_id}", response_model=SessionRead)
async def update_session(
    session_id: uuid.UUID,
    data: SessionUpdate,
    visible: VisibleDep,
    response: ETagged,
    session: SessionDep,
    if_match: IfMatch,
) -> SessionRead:
    """Mark a scheduled session held, missed or cancelled, reschedule it, or write its
    notes (the coach)."""
    row = await service.get_session(session, visible=visible, session_id=session_id)
    row = await service.update_session(
        session, visible=visible, row=row, data=data, if_match=if_match
    )
    set_etag(response, row.version)
    return service.session_read(row, audience=visible.audience)


# -- history --------------------------------------------------------------------------------


@router.get("/people/{person_id}/history", response_model=History)
async def person_history(
    person_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    gateway: GatewayDep,
    window_days: Annotated[int, Query(ge=1, le=MAX_WINDOW_DAYS)] = 365,
    include_training: Annotated[
        bool,
        Query(
            description="Also the remedial training modules and their completion (asks "
            "training; 503 if it cannot answer). Deciding does not need them."
        ),
    ] = False,
) -> History:
    """A person's coaching history and remedial counts in the window (HR and the incidents
    service). Never includes session notes."""
    if not rules.is_overseer(caller):
        raise Forbidden("A person's coaching history is for HR and the incidents service.")
    history = await service.history(session, person_id=person_id, window_days=window_days)
    if include_training:
        history.remedial_training = await upstream.remedial_training(gateway, person_id)
    return history


# The policy's look-back windows: a handful at most.
MAX_WINDOWS = 20


@router.get("/people/{person_id}/remedial-counts", response_model=RemedialCounts)
async def person_remedial_counts(
    person_id: uuid.UUID,
    caller: CallerDep,
    request: Request,
    window_days: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_WINDOW_DAYS)]],
        Query(
            min_length=1,
            max_length=MAX_WINDOWS,
            description=f"A look-back window in days; repeat for several (at most {MAX_WINDOWS}).",
        ),
    ],
) -> RemedialCounts:
    """Only the counts deciding an incident needs of a person's history, for each window
    asked, in one call: remedial engagements completed in each window and those still open
    (HR and the incidents service). The same counts as `/history`, without the engagements."""
    if not rules.is_overseer(caller):
        raise Forbidden("A person's coaching history is for HR and the incidents service.")
    # The database from the app, not as a dependency, and a read transaction of the
    # service's own instead of the session dependency: incidents asks this on every
    # decision, and FastAPI's solving of those cost more than the query (issue 16).
    database = await database_of(request)
    return await service.remedial_counts(database, person_id=person_id, windows=window_days)
