"""Ambassador program routes: parse, authorise, call the service, return."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from coaching.ambassadors import rules, service
from coaching.deps import CallerDep, GatewayDep, SessionDep
from coaching.models import ApplicationStatus
from coaching.schemas import (
    AmbassadorRead,
    ApplicationCreate,
    ApplicationDecision,
    ApplicationRead,
    Eligibility,
)
from kit.concurrency import ETagged, IfMatch, set_etag
from kit.errors import Forbidden
from kit.identity import UserDep
from kit.pagination import Page, PageParamsDep

router = APIRouter(prefix="/ambassadors", tags=["ambassador program"])


@router.get("", response_model=Page[AmbassadorRead])
async def list_ambassadors(
    session: SessionDep, caller: CallerDep, page: PageParamsDep
) -> Page[AmbassadorRead]:
    """Current ambassadors. Policy owners and HR also see suspended ones (an open remedial
    engagement); everyone else sees only active ambassadors."""
    items, next_cursor = await service.list_ambassadors(
        session, include_suspended=rules.reads_program(caller), page=page
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/eligibility",
    response_model=Eligibility,
    responses={503: {"description": "Training could not answer; try again shortly."}},
)
async def get_eligibility(
    session: SessionDep,
    gateway: GatewayDep,
    caller: UserDep,
    person_id: Annotated[
        uuid.UUID | None, Query(description="Whom to ask about (policy owners, HR); default you.")
    ] = None,
) -> Eligibility:
    """May this person apply? If not, each reason says why (training asked through the
    gateway)."""
    person_id = person_id or caller.person_id
    assert person_id is not None  # UserDep admits people only
    if not rules.may_ask_eligibility_of(caller, person_id):
        raise Forbidden("You can ask about your own eligibility only.")
    return await service.eligibility(session, gateway, person_id=person_id)


@router.post(
    "/applications",
    response_model=ApplicationRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        422: {"description": "Not eligible (`reasons` says why) or invalid input."},
        503: {"description": "Training could not answer; try again shortly."},
    },
)
async def apply(
    data: ApplicationCreate,
    response: ETagged,
    session: SessionDep,
    gateway: GatewayDep,
    caller: UserDep,
) -> ApplicationRead:
    """Apply to the ambassador program with a motivation. Honours `Idempotency-Key`."""
    assert caller.person_id is not None
    application = await service.apply(session, gateway, person_id=caller.person_id, data=data)
    set_etag(response, application.version)
    return ApplicationRead.model_validate(application)


@router.get("/applications", response_model=Page[ApplicationRead])
async def list_applications(
    session: SessionDep,
    caller: CallerDep,
    page: PageParamsDep,
    status: ApplicationStatus | None = None,
) -> Page[ApplicationRead]:
    """Applications, oldest first: all for policy owners and HR, your own otherwise."""
    rows, next_cursor = await service.list_applications(
        session, caller=caller, status=status, page=page
    )
    return Page(items=[ApplicationRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/applications/{application_id}", response_model=ApplicationRead)
async def get_application(
    application_id: uuid.UUID, response: ETagged, session: SessionDep, caller: CallerDep
) -> ApplicationRead:
    """One application (the applicant, policy owners, HR)."""
    application = await service.visible_application(
        session, caller=caller, application_id=application_id
    )
    set_etag(response, application.version)
    return ApplicationRead.model_validate(application)


async def _decide(
    application_id: uuid.UUID,
    data: ApplicationDecision,
    response: Response,
    session: SessionDep,
    caller: CallerDep,
    if_match: str | None,
    *,
    approve: bool,
) -> ApplicationRead:
    application = await service.visible_application(
        session, caller=caller, application_id=application_id
    )
    application = await service.decide(
        session,
        caller=caller,
        application=application,
        approve=approve,
        reason=data.reason,
        if_match=if_match,
    )
    set_etag(response, application.version)
    return ApplicationRead.model_validate(application)


@router.post("/applications/{application_id}/approve", response_model=ApplicationRead)
async def approve(
    application_id: uuid.UUID,
    data: ApplicationDecision,
    response: Response,
    session: SessionDep,
    caller: CallerDep,
    if_match: IfMatch,
) -> ApplicationRead:
    """pending → approved: the applicant becomes an ambassador (policy owners)."""
    return await _decide(application_id, data, response, session, caller, if_match, approve=True)


@router.post("/applications/{application_id}/reject", response_model=ApplicationRead)
async def reject(
    application_id: uuid.UUID,
    data: ApplicationDecision,
    response: Response,
    session: SessionDep,
    caller: CallerDep,
    if_match: IfMatch,
) -> ApplicationRead:
    """pending → rejected, with a reason the applicant sees (policy owners)."""
    return await _decide(application_id, data, response, session, caller, if_match, approve=False)
