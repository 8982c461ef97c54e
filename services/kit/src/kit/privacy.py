"""Data protection plumbing every service shares: the rows a service holds about a person
(for a right-of-access export), and the guard on the routes only the gateway may call.

A service lists its personal tables once (:class:`PersonalTable`: the model and the column
that names the person); :func:`rows_about` reads them through the ORM, so encrypted fields
come out decrypted. Each service's ``privacy.py`` adds what is not a plain row (an incident
as its subject may see it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from kit.db import table_of
from kit.errors import Forbidden
from kit.identity import Caller, CallerDep

# Where each service serves its part of a person's data, for the gateway only.
PERSON_PATH = "/privacy/people/{person_id}"


@dataclass(frozen=True, slots=True)
class PersonalTable:
    """Rows of ``model`` whose ``column`` holds the person's id, exported as ``section``."""

    section: str
    model: type[SQLModel]
    column: str


async def rows_about(
    session: AsyncSession, tables: Sequence[PersonalTable], *, person_id: uuid.UUID
) -> dict[str, list[dict[str, Any]]]:
    """Every row of ``tables`` about the person, each table in its primary key's order."""
    found: dict[str, list[dict[str, Any]]] = {}
    for table in tables:
        (key,) = table.model.__table__.primary_key.columns  # type: ignore[attr-defined]
        rows = await session.scalars(
            select(table.model)
            .where(col(getattr(table.model, table.column)) == person_id)
            .order_by(key)
        )
        found.setdefault(table.section, []).extend(
            to_jsonable_python(row.model_dump()) for row in rows
        )
    return found


async def the_gateway(caller: CallerDep) -> Caller:
    """Only the gateway gathers a person's data (the privacy officer asks it)."""
    if not caller.is_service("gateway"):
        raise Forbidden("Only the gateway asks for a person's data, for the privacy officer.")
    return caller


GatewayOnlyDep = Annotated[Caller, Depends(the_gateway)]


# The id that stands in for an erased person where a row must stay (an incident kept for
# the counts, a post in someone else's thread).
ERASED_PERSON_ID = uuid.UUID("00000000-0000-0000-0000-00000000e5ed")
ERASE_PATH = PERSON_PATH + "/erase"


class KeptItem(BaseModel):
    """Something a service kept in an erasure, and why."""

    what: str
    id: str
    why: str


class ErasureOutcome(BaseModel):
    """A service's answer to an erasure: counts of what it erased (never content), and
    what it kept. Asking again erases nothing more and keeps the same."""

    erased: dict[str, int]
    kept: list[KeptItem] = []


async def delete_rows(
    session: AsyncSession, tables: Sequence[PersonalTable], *, person_id: uuid.UUID
) -> dict[str, int]:
    """Delete the person's rows of ``tables`` (children before parents: in order)."""
    counts: dict[str, int] = {}
    for table in tables:
        model_table = table_of(table.model)
        result = await session.execute(
            delete(model_table).where(model_table.c[table.column] == person_id)
        )
        counts[table.section] = counts.get(table.section, 0) + int(
            getattr(result, "rowcount", 0) or 0
        )
    return counts
