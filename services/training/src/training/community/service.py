"""Community threads and replies. Routes call these; nothing here knows about HTTP.

A hidden post is kept (with who hid it and why) but disappears for everyone except
policy owners and its author.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, or_, select

from kit.db import utcnow
from kit.pagination import PageParams, paginate
from training.community.models import Reply, Thread
from training.community.schemas import ReplyCreate, ReplyRead, ThreadCreate, ThreadRead
from training.errors import ModuleNotFound, PostNotFound
from training.modules.models import Module, ModuleStatus
from training.modules.service import check_clauses

Post = TypeVar("Post", Thread, Reply)


def _visible(
    model: type[Thread] | type[Reply], *, viewer: uuid.UUID | None, moderator: bool
) -> Any:
    if moderator:
        return True
    return or_(col(model.hidden_at).is_(None), col(model.author_id) == viewer)


def _may_see(post: Thread | Reply, *, viewer: uuid.UUID | None, moderator: bool) -> bool:
    return moderator or post.hidden_at is None or post.author_id == viewer


async def create_thread(
    session: AsyncSession, *, data: ThreadCreate, author_id: uuid.UUID
) -> Thread:
    if data.module_id is not None:
        module = await session.get(Module, data.module_id)
        if module is None or module.status is ModuleStatus.DRAFT:
            raise ModuleNotFound(f"There is no module {data.module_id} to tag.")
    await check_clauses(session, [data.clause_number])
    thread = Thread.model_validate(data.model_dump(), update={"author_id": author_id})
    session.add(thread)
    await session.flush()
    return thread


async def list_threads(
    session: AsyncSession,
    *,
    page: PageParams,
    viewer: uuid.UUID | None,
    moderator: bool,
    module_id: uuid.UUID | None,
    clause_number: str | None,
) -> tuple[list[Thread], str | None]:
    """Newest first."""
    statement = select(Thread).where(_visible(Thread, viewer=viewer, moderator=moderator))
    if module_id is not None:
        statement = statement.where(col(Thread.module_id) == module_id)
    if clause_number is not None:
        statement = statement.where(col(Thread.clause_number) == clause_number)
    return await paginate(
        session, statement, order_by=[Thread.created_at, Thread.id], params=page, descending=True
    )


async def get_thread(
    session: AsyncSession, *, thread_id: uuid.UUID, viewer: uuid.UUID | None, moderator: bool
) -> Thread:
    thread = await session.get(Thread, thread_id)
    if thread is None or not _may_see(thread, viewer=viewer, moderator=moderator):
        raise PostNotFound(f"There is no thread {thread_id}.")
    return thread


async def add_reply(
    session: AsyncSession, *, thread: Thread, data: ReplyCreate, author_id: uuid.UUID
) -> Reply:
    reply = Reply(thread_id=thread.id, author_id=author_id, body=data.body)
    session.add(reply)
    await session.flush()
    return reply


async def list_replies(
    session: AsyncSession,
    *,
    thread: Thread,
    page: PageParams,
    viewer: uuid.UUID | None,
    moderator: bool,
) -> tuple[list[Reply], str | None]:
    """Oldest first, as a conversation reads."""
    statement = select(Reply).where(
        col(Reply.thread_id) == thread.id, _visible(Reply, viewer=viewer, moderator=moderator)
    )
    return await paginate(session, statement, order_by=[Reply.created_at, Reply.id], params=page)


async def get_reply(session: AsyncSession, *, reply_id: uuid.UUID) -> Reply:
    reply = await session.get(Reply, reply_id)
    if reply is None:
        raise PostNotFound(f"There is no reply {reply_id}.")
    return reply


async def hide(session: AsyncSession, *, post: Post, by: uuid.UUID | None, reason: str) -> Post:
    """Hiding again keeps the first record of who hid it and why."""
    if post.hidden_at is None:
        post.hidden_at = utcnow()
        post.hidden_by = by
        post.hidden_reason = reason
        session.add(post)
        await session.flush()
    return post


def thread_read(thread: Thread) -> ThreadRead:
    return ThreadRead.model_validate(
        {**thread.model_dump(), "hidden": thread.hidden_at is not None}
    )


def reply_read(reply: Reply) -> ReplyRead:
    return ReplyRead.model_validate({**reply.model_dump(), "hidden": reply.hidden_at is not None})
