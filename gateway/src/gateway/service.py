"""Directory queries. Routes call these; nothing here knows about HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from gateway.errors import PersonNotFound
from gateway.models import Person
from kit.pagination import PageParams, paginate


@dataclass(frozen=True, slots=True)
class PeopleFilter:
    department: str | None = None
    manager_id: uuid.UUID | None = None
    active: bool | None = None
    ids: Sequence[uuid.UUID] = ()


async def get_person(session: AsyncSession, *, person_id: uuid.UUID) -> Person:
    person = await session.get(Person, person_id)
    if person is None:
        raise PersonNotFound(f"No person with id {person_id} in the directory.")
    return person


async def list_people(
    session: AsyncSession, *, filters: PeopleFilter, page: PageParams
) -> tuple[list[Person], str | None]:
    """People matching every given filter, oldest entry first."""
    statement = select(Person)
    if filters.department is not None:
        statement = statement.where(col(Person.department) == filters.department)
    if filters.manager_id is not None:
        statement = statement.where(col(Person.manager_id) == filters.manager_id)
    if filters.active is not None:
        statement = statement.where(col(Person.active).is_(filters.active))
    if filters.ids:
        statement = statement.where(col(Person.id).in_(filters.ids))
    return await paginate(session, statement, order_by=[Person.created_at, Person.id], params=page)
