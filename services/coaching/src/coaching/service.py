"""Coaching queries and rules. Routes call these; nothing here knows about HTTP."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from coaching.errors import AlreadyACoach
from coaching.models import Coach
from coaching.schemas import CoachCreate
from kit.pagination import PageParams, paginate


async def create_coach(session: AsyncSession, *, data: CoachCreate) -> Coach:
    coach = Coach.model_validate(data.model_dump())
    session.add(coach)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise AlreadyACoach(f"Person {data.person_id} is already a coach.") from exc
    return coach


async def list_coaches(
    session: AsyncSession, *, page: PageParams
) -> tuple[list[Coach], str | None]:
    statement = select(Coach).where(col(Coach.active).is_(True))
    return await paginate(
        session,
        statement,
        order_by=[Coach.created_at, Coach.id],
        params=page,
    )
