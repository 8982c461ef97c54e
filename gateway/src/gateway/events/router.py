"""The inbox routes (``/api/v1/me/notifications``) and the internal event intake, with its
short path (:class:`IntakeShortcut`)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from gateway.access import check_event_source
from gateway.deps import CallerDep, SessionDep, UserDep
from gateway.edge import ServiceShortcut, refusal
from gateway.events import intake, service
from gateway.events.schemas import (
    IntakeReceipt,
    MarkedRead,
    NotificationRead,
    NotificationSettings,
    NotificationSettingsUpdate,
    UnreadCount,
)
from kit.context import current_request_id
from kit.db import Database
from kit.errors import DomainError, problem_response, validation_error_response
from kit.identity import Caller, PrincipalKind, bearer_token
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
    return await _take_in(session, batch, caller=caller, outgoing=request.app.state.outgoing)


async def _take_in(
    session: AsyncSession, batch: EventBatch, *, caller: Caller, outgoing: intake.Outgoing
) -> IntakeReceipt:
    check_event_source(caller, {event.source for event in batch.events})
    new = await intake.take_in(session, events=batch.events, outgoing=outgoing)
    return IntakeReceipt(received=len(batch.events), new=new)


class IntakeShortcut(ServiceShortcut):
    """``POST /internal/events`` from a service, the short way: the request id, log line
    and metrics, and the body limit (``kit.runtime.edge_middleware``), then the intake,
    as proxied requests skip the framework (``gateway.main.GatewayApp``). The public
    edge adds nothing to it: a service principal is neither throttled nor rate limited,
    has no scopes, and the intake is not in the OpenAPI document. That edge and the
    router were half of the gateway's CPU per intake request (bench.outbox --py-spy).

    Taken only by a request with a valid service token and a JSON body; any other (a
    person's token, none, an invalid one) goes the long way and is answered there as
    before. The answers are the route's: the receipt, or the same problems."""

    route_label = INTAKE_PATH

    def _service(self, scope: Scope) -> Caller | None:
        """The service principal of a JSON ``POST`` the short path can answer, if it is one."""
        if scope["type"] != "http" or scope["method"] != "POST" or not _json(scope):
            return None
        token = bearer_token(scope)
        authenticator = getattr(self.state, "authenticator", None)
        if token is None or authenticator is None:
            return None
        try:
            caller: Caller = authenticator.service_verifier.verify(token)
        except DomainError:
            return None
        return caller if caller.kind is PrincipalKind.SERVICE else None

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller: Caller = scope["state"]["caller"]
        if caller.request_id is None:  # as the authentication middleware does
            caller = dataclasses.replace(caller, request_id=current_request_id())
        response: Response
        try:
            batch = _batch(await _body(receive), instance=scope["path"])
            if isinstance(batch, Response):
                response = batch
            else:
                database: Database = self.state.database
                async with database.transaction() as session:
                    receipt = await _take_in(
                        session, batch, caller=caller, outgoing=self.state.outgoing
                    )
                response = JSONResponse(receipt.model_dump(mode="json"))
        except DomainError as error:
            response = refusal(error, scope)
        await response(scope, receive, send)


def _json(scope: Scope) -> bool:
    """Whether the body is declared JSON, as the route reads it (no type: JSON too)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type: bytes = value.split(b";", 1)[0].strip().lower()
            return media_type == b"application/json"
    return True


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _batch(body: bytes, *, instance: str) -> EventBatch | Response:
    """The batch, or the problem the route answers for a body that is not one (errors
    located in ``body`` as the framework locates them)."""
    errors: list[dict[str, Any]]
    if not body:
        errors = [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        return validation_error_response(errors, instance=instance)
    try:
        return EventBatch.model_validate(json.loads(body), from_attributes=True)
    except json.JSONDecodeError as error:
        errors = [
            {
                "type": "json_invalid",
                "loc": ("body", error.pos),
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": error.msg},
            }
        ]
    except ValidationError as error:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in error.errors()]
    except ValueError:  # not UTF-8
        return problem_response(
            status=400, detail="There was an error parsing the body", instance=instance
        )
    return validation_error_response(errors, instance=instance)
