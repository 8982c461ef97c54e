"""Community routes: parse, authorise, call the service, return."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from kit.errors import Forbidden
from kit.identity import Caller, CallerDep, Role, UserDep
from kit.pagination import Page, PageParamsDep
from training.community import service
from training.community.schemas import (
    HideRequest,
    ReplyCreate,
    ReplyRead,
    ThreadCreate,
    ThreadRead,
)
from training.deps import API_PREFIX, SessionDep
from training.policy.schemas import ClauseNumber

router = APIRouter(prefix=API_PREFIX, tags=["community"])


def _moderator(caller: Caller) -> bool:
    return caller.has_role(Role.POLICY_OWNER)


@router.get("/community/threads", response_model=Page[ThreadRead])
async def list_threads(
    session: SessionDep,
    caller: CallerDep,
    page: PageParamsDep,
    module_id: uuid.UUID | None = None,
    clause_number: Annotated[ClauseNumber | None, Query()] = None,
) -> Page[ThreadRead]:
    """Community threads, newest first, optionally by module or clause."""
    threads, next_cursor = await service.list_threads(
        session,
        page=page,
        viewer=caller.person_id,
        moderator=_moderator(caller),
        module_id=module_id,
        clause_number=clause_number,
    )
    return Page(items=[service.thread_read(t) for t in threads], next_cursor=next_cursor)


@router.post("/community/threads", response_model=ThreadRead, status_code=status.HTTP_201_CREATED)
async def create_thread(data: ThreadCreate, session: SessionDep, caller: UserDep) -> ThreadRead:
    """Start a thread to share an experience or ask a question. Honours `Idempotency-Key`."""
    assert caller.person_id is not None
    thread = await service.create_thread(session, data=data, author_id=caller.person_id)
    return service.thread_read(thread)


@router.get("/community/threads/{thread_id}", response_model=ThreadRead)
async def get_thread(thread_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> ThreadRead:
    """One thread."""
    thread = await service.get_thread(
        session, thread_id=thread_id, viewer=caller.person_id, moderator=_moderator(caller)
    )
    return service.thread_read(thread)


@router.get("/community/threads/{thread_id}/replies", response_model=Page[ReplyRead])
async def list_replies(
    thread_id: uuid.UUID, session: SessionDep, caller: CallerDep, page: PageParamsDep
) -> Page[ReplyRead]:
    """A thread's replies, oldest first."""
    moderator = _moderator(caller)
    thread = await service.get_thread(
        session, thread_id=thread_id, viewer=caller.person_id, moderator=moderator
    )
    replies, next_cursor = await service.list_replies(
        session, thread=thread, page=page, viewer=caller.person_id, moderator=moderator
    )
    return Page(items=[service.reply_read(r) for r in replies], next_cursor=next_cursor)


@router.post(
    "/community/threads/{thread_id}/replies",
    response_model=ReplyRead,
    status_code=status.HTTP_201_CREATED,
)
async def add_reply(
    thread_id: uuid.UUID, data: ReplyCreate, session: SessionDep, caller: UserDep
) -> ReplyRead:
    """Reply to a thread. Honours `Idempotency-Key`."""
    assert caller.person_id is not None
    thread = await service.get_thread(
        session, thread_id=thread_id, viewer=caller.person_id, moderator=_moderator(caller)
    )
    reply = await service.add_reply(session, thread=thread, data=data, author_id=caller.person_id)
    return service.reply_read(reply)


@router.post("/community/threads/{thread_id}/hide", response_model=ThreadRead)
async def hide_thread(
    thread_id: uuid.UUID, data: HideRequest, session: SessionDep, caller: CallerDep
) -> ThreadRead:
    """Hide a thread with a reason (policy owners); others no longer see it."""
    thread = await service.get_thread(
        session, thread_id=thread_id, viewer=caller.person_id, moderator=_moderator(caller)
    )
    _require_moderator(caller)
    thread = await service.hide(session, post=thread, by=caller.person_id, reason=data.reason)
    return service.thread_read(thread)


@router.post("/community/replies/{reply_id}/hide", response_model=ReplyRead)
async def hide_reply(
    reply_id: uuid.UUID, data: HideRequest, session: SessionDep, caller: CallerDep
) -> ReplyRead:
    """Hide a reply with a reason (policy owners); others no longer see it."""
    reply = await service.get_reply(session, reply_id=reply_id)
    await service.get_thread(
        session, thread_id=reply.thread_id, viewer=caller.person_id, moderator=_moderator(caller)
    )
    _require_moderator(caller)
    reply = await service.hide(session, post=reply, by=caller.person_id, reason=data.reason)
    return service.reply_read(reply)


def _require_moderator(caller: Caller) -> None:
    if not _moderator(caller):
        raise Forbidden("Only policy owners can hide community posts.")
