"""The inbox routes (``/api/v1/me/notifications``) and the internal event intake."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from gateway.access import check_event_source
from gateway.deps import CallerDep, SessionDep, UserDep
from gateway.events import intake, service
from gateway.events.schemas import (
    IntakeReceipt,
    MarkedRead,
    NotificationRead,
    NotificationSettings,
    NotificationSettingsUpdate,
    UnreadCount,
)
from kit.outbox import INTAKE_PATH, EventBatch
from kit.pagination import Page, PageParamsDep

router = APIRouter(prefix="/api/v1/me/notifications", tags=["notifications"])
internal_router = APIRouter()


def _mandatory(request: Request) -> frozenset[str]:
    outgoing: intake.Outgoing = request.app.state.outgoing
    return outgoing.mandatory_email_kinds


def _person(caller: UserDep) -> uuid.UUID:
    assert caller.person_id is not None  # UserDep: a person
    return caller.person_id


@router.get("", response_model=Page[NotificationRead])
async def list_notifications(
    session: SessionDep,
    caller: UserDep,
    page: PageParamsDep,
    unread: Annotated[
        bool | None, Query(description="Only unread (`true`) or only read (`false`) ones.")
    ] = None,
) -> Page[NotificationRead]:
    """My in-app notifications, newest first (keyset-paginated)."""
    rows, next_cursor = await service.list_notifications(
        session, person_id=_person(caller), unread=unread, page=page
    )
    return Page(items=[NotificationRead.model_validate(n) for n in rows], next_cursor=next_cursor)


@router.get("/unread-count", response_model=UnreadCount)
async def unread_count(session: SessionDep, caller: UserDep) -> UnreadCount:
    """How many of my notifications are unread (the badge on the bell)."""
    return UnreadCount(unread=await service.unread_count(session, person_id=_person(caller)))


@router.get("/settings", response_model=NotificationSettings)
async def get_settings(
    request: Request, session: SessionDep, caller: UserDep
) -> NotificationSettings:
    """Which kinds of notification reach me by e-mail, and which are mandatory."""
    return await service.notification_settings(
        session, person_id=_person(caller), mandatory=_mandatory(request)
    )


@router.put("/settings", response_model=NotificationSettings)
async def put_settings(
    data: NotificationSettingsUpdate, request: Request, session: SessionDep, caller: UserDep
) -> NotificationSettings:
    """Opt out of e-mail for some kinds (the inbox still has them); mandatory kinds: 422."""
    return await service.set_email_opt_outs(
        session, person_id=_person(caller), kinds=data.email_opt_outs, mandatory=_mandatory(request)
    )


@router.post("/read-all", response_model=MarkedRead)
async def mark_all_read(session: SessionDep, caller: UserDep) -> MarkedRead:
    """Mark every notification of mine read."""
    return MarkedRead(marked=await service.mark_all_read(session, person_id=_person(caller)))


@router.post("/{notification_id}/read", response_model=NotificationRead)
async def mark_read(
    notification_id: uuid.UUID, session: SessionDep, caller: UserDep
) -> NotificationRead:
    """Mark one notification of mine read (again: it keeps the first time)."""
    notification = await service.mark_read(
        session, person_id=_person(caller), notification_id=notification_id
    )
    return NotificationRead.model_validate(notification)


@internal_router.post(INTAKE_PATH, response_model=IntakeReceipt, include_in_schema=False)
async def take_in_events(
    batch: EventBatch, request: Request, session: SessionDep, caller: CallerDep
) -> IntakeReceipt:
    """Where the services' outbox drainers hand their events on (service principals
    only, each for its own events); handing an event on again changes nothing."""
    check_event_source(caller, {event.source for event in batch.events})
    new = await intake.take_in(session, events=batch.events, outgoing=request.app.state.outgoing)
    return IntakeReceipt(received=len(batch.events), new=new)
