"""Directory queries. Routes call these; nothing here knows about HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, exists, false, or_
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from gateway.errors import PersonNotFound
from gateway.models import Group, GroupMember, Person
from gateway.schemas import ManagerSummary, PersonBrief, PersonDetail, PersonRead
from kit.db import table_of
from kit.identity import Role
from kit.pagination import PageParams, paginate


@dataclass(frozen=True, slots=True)
class PeopleFilter:
    department: str | None = None
    manager_id: uuid.UUID | None = None
    active: bool | None = None
    ids: Sequence[uuid.UUID] = ()
    # Any of these roles (``employee`` is everyone).
    roles: Sequence[Role] = ()
    # A member of any of these groups (display names).
    groups: Sequence[str] = ()


async def get_person(session: AsyncSession, *, person_id: uuid.UUID) -> Person:
    person = await session.get(Person, person_id)
    if person is None:
        raise PersonNotFound(f"No person with id {person_id} in the directory.")
    return person


_PEOPLE = table_of(Person)
_MANAGERS = _PEOPLE.alias("managers")
# Built once, on table columns: what a person's detail shows, their manager's summary
# beside it. The directory answers one of these per decision (issue 16); the ORM query it
# replaces (both people as entities, then two models validated from them) cost about
# three times its CPU.
_PERSON_DETAIL = (
    core_select(
        *(_PEOPLE.c[name] for name in PersonRead.model_fields),
        _MANAGERS.c.id.label("manager_summary_id"),
        _MANAGERS.c.display_name.label("manager_display_name"),
        _MANAGERS.c.active.label("manager_active"),
    )
    .select_from(_PEOPLE.outerjoin(_MANAGERS, _MANAGERS.c.id == _PEOPLE.c.manager_id))
    .where(_PEOPLE.c.id == bindparam("person_id"))
)


async def get_person_detail(session: AsyncSession, *, person_id: uuid.UUID) -> PersonDetail:
    """The person and their manager: the incidents service's decisions need both, and one
    call through the gateway costs far more than reading both here, in one statement."""
    row = (await session.execute(_PERSON_DETAIL, {"person_id": person_id})).first()
    if row is None:
        raise PersonNotFound(f"No person with id {person_id} in the directory.")
    fields = row._mapping
    manager = (
        None
        if row.manager_summary_id is None
        else ManagerSummary(
            id=row.manager_summary_id,
            display_name=row.manager_display_name,
            active=row.manager_active,
        )
    )
    return PersonDetail(**{name: fields[name] for name in PersonRead.model_fields}, manager=manager)


# Ids per query: well under every database's limit on bound parameters.
LOOKUP_CHUNK = 1_000


async def lookup_people(session: AsyncSession, *, ids: Sequence[uuid.UUID]) -> list[PersonBrief]:
    """The people with these ids (unknown ones left out), in id order: only the columns a
    brief names, read as rows (no ORM object per person: thousands are asked at once)."""
    wanted = sorted(set(ids))
    people = _PEOPLE
    briefs: list[PersonBrief] = []
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        rows = await session.execute(
            core_select(
                people.c.id,
                people.c.display_name,
                people.c.active,
                people.c.department,
                people.c.manager_id,
            )
            .where(people.c.id.in_(wanted[start : start + LOOKUP_CHUNK]))
            .order_by(people.c.id)
        )
        briefs += [
            PersonBrief(
                id=row.id,
                display_name=row.display_name,
                active=row.active,
                department=row.department,
                manager_id=row.manager_id,
            )
            for row in rows
        ]
    return briefs


async def list_people(
    session: AsyncSession,
    *,
    filters: PeopleFilter,
    page: PageParams,
    group_roles: Mapping[str, str],
) -> tuple[list[Person], str | None]:
    """People matching every given filter, oldest entry first, in one query.
    ``group_roles`` is the group → role mapping that gives people their roles."""
    statement = select(Person)
    if filters.department is not None:
        statement = statement.where(col(Person.department) == filters.department)
    if filters.manager_id is not None:
        statement = statement.where(col(Person.manager_id) == filters.manager_id)
    if filters.active is not None:
        statement = statement.where(col(Person.active).is_(filters.active))
    if filters.ids:
        statement = statement.where(col(Person.id).in_(filters.ids))
    if filters.roles and Role.EMPLOYEE not in filters.roles:
        statement = statement.where(holding_any_role(filters.roles, group_roles=group_roles))
    if filters.groups:
        statement = statement.where(member_of_any(filters.groups))
    return await paginate(session, statement, order_by=[Person.created_at, Person.id], params=page)


def holding_any_role(
    roles: Sequence[Role], *, group_roles: Mapping[str, str]
) -> ColumnElement[bool]:
    """People holding any of ``roles`` the way the gateway gives roles at login: ``manager``
    through active direct reports, the others through a group mapped to the role."""
    conditions: list[ColumnElement[bool]] = []
    groups = [group for group, role in group_roles.items() if role in roles]
    if groups:
        conditions.append(member_of_any(groups))
    if Role.MANAGER in roles:
        report = aliased(Person)
        conditions.append(
            exists().where(col(report.manager_id) == col(Person.id), col(report.active).is_(True))
        )
    # A role no group is mapped to is held by nobody.
    return or_(*conditions) if conditions else false()


def member_of_any(group_names: Sequence[str]) -> ColumnElement[bool]:
    members = (
        select(GroupMember.person_id)
        .join(Group, col(Group.id) == col(GroupMember.group_id))
        .where(col(Group.display_name).in_(group_names))
    )
    return col(Person.id).in_(members)
