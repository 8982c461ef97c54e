"""The inbox: a person's notifications, newest first, and marking them read."""

from __future__ import annotations

import uuid

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from gateway.errors import NotificationNotFound
from gateway.events.models import Notification
from kit.db import utcnow
from kit.pagination import PageParams, paginate


async def list_notifications(
    session: AsyncSession, *, person_id: uuid.UUID, unread: bool | None, page: PageParams
) -> tuple[list[Notification], str | None]:
    statement = select(Notification).where(col(Notification.person_id) == person_id)
    if unread is True:
        statement = statement.where(col(Notification.read_at).is_(None))
    elif unread is False:
        statement = statement.where(col(Notification.read_at).is_not(None))
    return await paginate(
        session,
        statement,
        order_by=[Notification.created_at, Notification.id],
        params=page,
        descending=True,
    )


async def unread_count(session: AsyncSession, *, person_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(col(Notification.person_id) == person_id, col(Notification.read_at).is_(None))
    )
    return int(count or 0)


async def mark_read(
    session: AsyncSession, *, person_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification:
    """Marking twice keeps the first time; someone else's notification is not found."""
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.person_id != person_id:
        raise NotificationNotFound(f"You have no notification with id {notification_id}.")
    if notification.read_at is None:
        notification.read_at = utcnow()
        await session.flush()
    return notification


async def mark_all_read(session: AsyncSession, *, person_id: uuid.UUID) -> int:
    result = await session.execute(
        update(Notification)
        .where(col(Notification.person_id) == person_id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)
