"""The inbox: a person's notifications, newest first, and marking them read."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from gateway.errors import NotificationNotFound
from gateway.events.models import EmailOptOut, Notification
from gateway.events.routing import ROUTES
from gateway.events.schemas import EmailChoice, NotificationSettings
from kit.db import utcnow
from kit.errors import ValidationFailed
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


async def notification_settings(
    session: AsyncSession, *, person_id: uuid.UUID, mandatory: Collection[str]
) -> NotificationSettings:
    opted_out = set(
        await session.scalars(
            select(EmailOptOut.kind).where(col(EmailOptOut.person_id) == person_id)
        )
    )
    return NotificationSettings(
        email=[
            EmailChoice(
                kind=kind,
                mandatory=kind in mandatory,
                email=kind in mandatory or kind not in opted_out,
            )
            for kind in sorted(ROUTES)
        ]
    )


async def set_email_opt_outs(
    session: AsyncSession,
    *,
    person_id: uuid.UUID,
    kinds: Sequence[str],
    mandatory: Collection[str],
) -> NotificationSettings:
    """Replace the person's opt-outs; an unknown or mandatory kind is refused (422)."""
    errors = [
        {
            "detail": f"{kind!r} is mandatory: the policy says it is always e-mailed."
            if kind in mandatory
            else f"{kind!r} is not a kind people are told about; one of {sorted(ROUTES)}.",
            "pointer": f"#/email_opt_outs/{index}",
        }
        for index, kind in enumerate(kinds)
        if kind in mandatory or kind not in ROUTES
    ]
    if errors:
        raise ValidationFailed("Some kinds cannot be opted out of.", extensions={"errors": errors})
    await session.execute(delete(EmailOptOut).where(col(EmailOptOut.person_id) == person_id))
    session.add_all(EmailOptOut(person_id=person_id, kind=kind) for kind in sorted(set(kinds)))
    await session.flush()
    return await notification_settings(session, person_id=person_id, mandatory=mandatory)
