"""Directory queries. Routes call these; nothing here knows about HTTP."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import PersonNotFound
from gateway.models import Person


async def get_person(session: AsyncSession, *, person_id: uuid.UUID) -> Person:
    person = await session.get(Person, person_id)
    if person is None:
        raise PersonNotFound(f"No person with id {person_id} in the directory.")
    return person
