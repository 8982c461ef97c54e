"""Coaches and their capacity: how many open (proposed or active) engagements they carry."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy
from sqlalchemy import ColumnElement, bindparam, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from coaching.errors import AlreadyACoach, CoachAtCapacity, CoachNotFound
from coaching.models import OPEN_STATUSES, Coach, Engagement
from coaching.schemas import CoachCreate, CoachRead
from kit.db import flush_unless_duplicate, table_of
from kit.pagination import PageParams, paginate


@dataclass(frozen=True, slots=True)
class CoachLoad:
    coach: Coach
    open_engagements: int

    def read(self) -> CoachRead:
        return coach_read(self.coach.model_dump(), self.open_engagements)


def coach_read(coach: Mapping[Any, Any], open_engagements: int) -> CoachRead:
    """A coach's columns with their open load and the slots left."""
    return CoachRead.model_validate(
        {
            **coach,
            "open_engagements": open_engagements,
            "available_slots": max(coach["capacity"] - open_engagements, 0),
        }
    )


_COACHES = table_of(Coach)
_ENGAGEMENTS = table_of(Engagement)


def _open_load() -> ColumnElement[int]:
    """A coach's open engagements, correlated to the outer ``coaches`` row (uses
    ix_engagements_coach_id_status)."""
    return (
        sqlalchemy.select(func.count())
        .select_from(_ENGAGEMENTS)
        .where(_ENGAGEMENTS.c.coach_id == _COACHES.c.id, _ENGAGEMENTS.c.status.in_(OPEN_STATUSES))
        .scalar_subquery()
    )


async def create_coach(session: AsyncSession, *, data: CoachCreate) -> Coach:
    coach = Coach.model_validate(data.model_dump())
    if not await flush_unless_duplicate(session, coach):
        raise AlreadyACoach(f"Person {data.person_id} is already a coach.")
    return coach


async def open_loads(session: AsyncSession, coach_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Open engagements per coach, for many coaches in one grouped query."""
    ids = list(set(coach_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(col(Engagement.coach_id), func.count())
        .where(col(Engagement.coach_id).in_(ids), col(Engagement.status).in_(OPEN_STATUSES))
        .group_by(col(Engagement.coach_id))
    )
    loads: dict[uuid.UUID, int] = dict.fromkeys(ids, 0)
    for coach_id, count in rows:
        if coach_id is not None:
            loads[coach_id] = count
    return loads


async def list_coaches(
    session: AsyncSession, *, page: PageParams, available_only: bool
) -> tuple[list[CoachLoad], str | None]:
    statement = select(Coach).where(col(Coach.active).is_(True))
    if available_only:
        statement = statement.where(_open_load() < col(Coach.capacity))
    coaches, next_cursor = await paginate(
        session, statement, order_by=[Coach.created_at, Coach.id], params=page
    )
    loads = await open_loads(session, (c.id for c in coaches))
    return [CoachLoad(c, loads[c.id]) for c in coaches], next_cursor


# One statement, built once, reading plain columns: a coach page is the most frequent read
# here, and loading a Coach entity plus a second query for its load cost twice the CPU.
_COACH_WITH_LOAD = sqlalchemy.select(_COACHES, _open_load().label("open_engagements")).where(
    _COACHES.c.id == bindparam("coach_id")
)


async def get_coach(session: AsyncSession, coach_id: uuid.UUID) -> CoachRead:
    row = (await session.execute(_COACH_WITH_LOAD, {"coach_id": coach_id})).mappings().first()
    if row is None:
        raise CoachNotFound(f"There is no coach {coach_id}.")
    return coach_read(row, row["open_engagements"])


async def coach_of_person(session: AsyncSession, person_id: uuid.UUID) -> Coach | None:
    return await session.scalar(select(Coach).where(col(Coach.person_id) == person_id))


async def person_ids_of(
    session: AsyncSession, coach_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    ids = list(set(coach_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(col(Coach.id), col(Coach.person_id)).where(col(Coach.id).in_(ids))
    )
    return {row.id: row.person_id for row in rows}


async def lock_coach(session: AsyncSession, *, coach_id: uuid.UUID) -> Coach:
    """The active coach, its row locked until the transaction ends (PostgreSQL; SQLite
    serialises writers anyway) so two concurrent assignments cannot both take the last slot."""
    coach = await session.scalar(select(Coach).where(col(Coach.id) == coach_id).with_for_update())
    if coach is None or not coach.active:
        raise CoachNotFound(f"There is no active coach {coach_id}.")
    return coach


async def check_capacity(session: AsyncSession, *, coach: Coach) -> None:
    load = (await open_loads(session, [coach.id]))[coach.id]
    if load >= coach.capacity:
        raise CoachAtCapacity(
            f"{coach.display_name} already has {load} open engagements (capacity "
            f"{coach.capacity}). Choose a coach with free slots: GET /api/v1/coaching/coaches"
            "?available=true."
        )
