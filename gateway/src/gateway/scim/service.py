"""SCIM operations on the directory. Routes call these; nothing here knows about HTTP.

Every write validates the whole resulting resource before it touches a row, so a bad PUT
or PATCH changes nothing. Functions that change group membership return the ids of the
people whose roles may have changed, so the caller can drop them from the role cache.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from gateway.models import Group, GroupMember, Person, PersonEmail
from gateway.privacy.erasure import is_erased
from gateway.scim.errors import bad_request, not_found, uniqueness
from gateway.scim.filters import Equals
from gateway.scim.patch import apply_patch
from gateway.scim.schemas import (
    GROUP_SHAPE,
    USER_SHAPE,
    ScimEmail,
    ScimGroupIn,
    ScimName,
    ScimUserIn,
    group_document,
    parse,
    user_document,
)
from kit.db import utcnow

MAX_COUNT = 200


# -- users ------------------------------------------------------------------------------


async def get_user(session: AsyncSession, *, user_id: uuid.UUID) -> Person:
    person = await session.get(Person, user_id)
    if person is None or person.deleted_at is not None:
        raise not_found("User", user_id)
    return person


async def create_user(session: AsyncSession, *, data: ScimUserIn) -> Person:
    """A new person; a userName that belonged to a deleted person brings that person back
    (same id), so the records other services keep about them line up again."""
    previous = await session.scalar(
        select(Person).where(func.lower(col(Person.user_name)) == data.user_name.lower())
    )
    if previous is not None and previous.deleted_at is None:
        raise uniqueness(f"A user with userName {data.user_name!r} already exists.")
    # The tombstone of an erasure: provisioning must not bring an erased person back.
    if await is_erased(session, user_name=data.user_name, external_id=data.external_id):
        raise uniqueness(
            f"The user {data.user_name!r} was erased at the privacy officer's request and is "
            "not recreated; provision them under another userName and externalId if they "
            "really return."
        )
    person = previous or Person(user_name=data.user_name, display_name=data.user_name)
    person.deleted_at = None
    await _apply_user(session, person, data)
    return person


async def replace_user(session: AsyncSession, *, person: Person, data: ScimUserIn) -> Person:
    await _apply_user(session, person, data)
    return person


async def patch_user(session: AsyncSession, *, person: Person, body: Mapping[str, Any]) -> Person:
    emails = (await emails_of(session, [person.id])).get(person.id, [])
    document = apply_patch(user_document(person, emails), body, USER_SHAPE)
    return await replace_user(session, person=person, data=parse(ScimUserIn, document))


async def delete_user(session: AsyncSession, *, person: Person) -> None:
    """Deactivate and hide from SCIM; the person stays in the directory (see models)."""
    person.active = False
    person.deleted_at = person.updated_at = utcnow()
    await session.execute(delete(GroupMember).where(col(GroupMember.person_id) == person.id))
    await session.flush()


async def list_users(
    session: AsyncSession, *, where: Equals | None, start_index: int, count: int
) -> tuple[int, list[Person]]:
    statement = select(Person).where(col(Person.deleted_at).is_(None))
    if where is not None:
        statement = statement.where(_user_condition(where))
    return await _page(session, statement, Person, start_index=start_index, count=count)


async def groups_of(
    session: AsyncSession, person_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[Group]]:
    """Each person's groups, in one query for the whole page."""
    rows = await session.execute(
        select(GroupMember.person_id, Group)
        .join(Group, col(Group.id) == col(GroupMember.group_id))
        .where(col(GroupMember.person_id).in_(list(person_ids)))
        .order_by(col(Group.display_name))
    )
    groups: dict[uuid.UUID, list[Group]] = defaultdict(list)
    for person_id, group in rows.all():
        groups[person_id].append(group)
    return groups


async def emails_of(
    session: AsyncSession, person_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[PersonEmail]]:
    """Each person's e-mail addresses as sent, in one query for the whole page."""
    rows = await session.scalars(
        select(PersonEmail)
        .where(col(PersonEmail.person_id).in_(list(person_ids)))
        .order_by(col(PersonEmail.person_id), col(PersonEmail.position))
    )
    emails: dict[uuid.UUID, list[PersonEmail]] = defaultdict(list)
    for email in rows:
        emails[email.person_id].append(email)
    return emails


USER_FILTERS = ("userName", "externalId", "id", "emails", "emails.value")


def _user_condition(where: Equals) -> Any:
    if where.attribute in ("emails", "emails.value"):
        # Any of the user's addresses; e-mail addresses compare case-insensitively.
        return col(Person.id).in_(
            select(PersonEmail.person_id).where(
                func.lower(col(PersonEmail.value)) == where.value.lower()
            )
        )
    if where.attribute == "userName":
        # userName is case-insensitive in SCIM (RFC 7643 §4.1.1).
        return func.lower(col(Person.user_name)) == where.value.lower()
    if where.attribute == "externalId":
        return col(Person.external_id) == where.value
    return col(Person.id) == _uuid_or_none(where.value)


async def _apply_user(session: AsyncSession, person: Person, data: ScimUserIn) -> None:
    await _check_user_unique(session, person, data)
    manager_id = data.enterprise.manager if data.enterprise else None
    if manager_id is not None:
        await _check_manager(session, person, manager_id)
    person.user_name = data.user_name
    person.external_id = data.external_id
    name = data.name or ScimName()
    person.name_formatted = name.formatted
    person.given_name = name.given_name
    person.family_name = name.family_name
    person.middle_name = name.middle_name
    person.honorific_prefix = name.honorific_prefix
    person.honorific_suffix = name.honorific_suffix
    person.display_name = data.best_display_name()
    person.scim_display_name = data.display_name
    person.email = data.primary_email()
    person.active = data.active is not False
    person.title = data.title
    person.locale = data.locale
    person.preferred_language = data.preferred_language
    person.employee_number = data.enterprise.employee_number if data.enterprise else None
    person.department = data.enterprise.department if data.enterprise else None
    person.manager_id = manager_id
    person.updated_at = utcnow()
    session.add(person)
    await _flush_unique(session, "userName or externalId")
    await _store_emails(session, person, data.emails)


async def _store_emails(session: AsyncSession, person: Person, emails: list[ScimEmail]) -> None:
    """The addresses exactly as sent, in their order (replacing the previous ones)."""
    await session.execute(delete(PersonEmail).where(col(PersonEmail.person_id) == person.id))
    session.add_all(
        PersonEmail(
            person_id=person.id,
            position=position,
            value=email.value,
            type=email.type,
            primary=email.primary,
            display=email.display,
        )
        for position, email in enumerate(emails)
    )
    await session.flush()


async def _check_user_unique(session: AsyncSession, person: Person, data: ScimUserIn) -> None:
    others = select(Person.id).where(col(Person.id) != person.id)
    if await session.scalar(
        others.where(func.lower(col(Person.user_name)) == data.user_name.lower())
    ):
        raise uniqueness(f"A user with userName {data.user_name!r} already exists.")
    if data.external_id is not None and await session.scalar(
        others.where(col(Person.external_id) == data.external_id)
    ):
        raise uniqueness(f"A user with externalId {data.external_id!r} already exists.")


async def _check_manager(session: AsyncSession, person: Person, manager_id: uuid.UUID) -> None:
    if manager_id == person.id:
        raise bad_request("invalidValue", "A user cannot be their own manager.")
    manager = await session.get(Person, manager_id)
    if manager is None or manager.deleted_at is not None:
        raise bad_request(
            "invalidValue",
            f"The manager {manager_id} is not a user here; provision the manager first.",
        )


# -- groups -----------------------------------------------------------------------------


async def get_group(session: AsyncSession, *, group_id: uuid.UUID) -> Group:
    group = await session.get(Group, group_id)
    if group is None:
        raise not_found("Group", group_id)
    return group


async def create_group(session: AsyncSession, *, data: ScimGroupIn) -> tuple[Group, set[uuid.UUID]]:
    group = Group(display_name=data.display_name)
    changed = await _apply_group(session, group, data, current=set())
    return group, changed


async def replace_group(
    session: AsyncSession, *, group: Group, data: ScimGroupIn
) -> set[uuid.UUID]:
    members = (await members_of(session, [group.id]))[group.id]
    return await _apply_group(session, group, data, current={p.id for p in members})


async def patch_group(
    session: AsyncSession, *, group: Group, body: Mapping[str, Any]
) -> set[uuid.UUID]:
    members = (await members_of(session, [group.id]))[group.id]
    document = apply_patch(group_document(group, members=members), body, GROUP_SHAPE)
    data = parse(ScimGroupIn, document)
    return await _apply_group(session, group, data, current={p.id for p in members})


async def delete_group(session: AsyncSession, *, group: Group) -> set[uuid.UUID]:
    members = (await members_of(session, [group.id]))[group.id]
    await session.execute(delete(GroupMember).where(col(GroupMember.group_id) == group.id))
    await session.delete(group)
    await session.flush()
    return {person.id for person in members}


async def list_groups(
    session: AsyncSession, *, where: Equals | None, start_index: int, count: int
) -> tuple[int, list[Group]]:
    statement = select(Group)
    if where is not None:
        statement = statement.where(_group_condition(where))
    return await _page(session, statement, Group, start_index=start_index, count=count)


async def members_of(
    session: AsyncSession, group_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[Person]]:
    """Each group's members, in one query for the whole page."""
    ids = list(group_ids)
    rows = await session.execute(
        select(GroupMember.group_id, Person)
        .join(Person, col(Person.id) == col(GroupMember.person_id))
        .where(col(GroupMember.group_id).in_(ids))
        .order_by(col(Person.created_at), col(Person.id))
    )
    members: dict[uuid.UUID, list[Person]] = {group_id: [] for group_id in ids}
    for group_id, person in rows.all():
        members[group_id].append(person)
    return members


def _group_condition(where: Equals) -> Any:
    if where.attribute == "displayName":
        return func.lower(col(Group.display_name)) == where.value.lower()
    if where.attribute == "externalId":
        return col(Group.external_id) == where.value
    return col(Group.id) == _uuid_or_none(where.value)


async def _apply_group(
    session: AsyncSession, group: Group, data: ScimGroupIn, *, current: set[uuid.UUID]
) -> set[uuid.UUID]:
    others = select(Group.id).where(col(Group.id) != group.id)
    if await session.scalar(
        others.where(func.lower(col(Group.display_name)) == data.display_name.lower())
    ):
        raise uniqueness(f"A group named {data.display_name!r} already exists.")
    if data.external_id is not None and await session.scalar(
        others.where(col(Group.external_id) == data.external_id)
    ):
        raise uniqueness(f"A group with externalId {data.external_id!r} already exists.")
    wanted = {member.value for member in data.members}
    await _check_members_exist(session, wanted)
    group.display_name = data.display_name
    group.external_id = data.external_id
    group.updated_at = utcnow()
    session.add(group)
    await _flush_unique(session, "displayName or externalId")
    if current - wanted:
        await session.execute(
            delete(GroupMember).where(
                col(GroupMember.group_id) == group.id,
                col(GroupMember.person_id).in_(current - wanted),
            )
        )
    session.add_all(GroupMember(group_id=group.id, person_id=p) for p in wanted - current)
    await session.flush()
    return current ^ wanted


async def _check_members_exist(session: AsyncSession, wanted: set[uuid.UUID]) -> None:
    if not wanted:
        return
    found = set(
        await session.scalars(
            select(Person.id).where(col(Person.id).in_(wanted), col(Person.deleted_at).is_(None))
        )
    )
    if missing := wanted - found:
        raise bad_request(
            "invalidValue",
            f"These members are not users here: {', '.join(sorted(map(str, missing)))}.",
        )


# -- shared -----------------------------------------------------------------------------


async def _page(
    session: AsyncSession,
    statement: Any,
    model: type[Person] | type[Group],
    *,
    start_index: int,
    count: int,
) -> tuple[int, list[Any]]:
    """SCIM pages by position (startIndex/count, RFC 7644 §3.4.2.4) in a stable order."""
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = await session.scalars(
        statement.order_by(col(model.created_at), col(model.id))
        .offset(start_index - 1)
        .limit(min(count, MAX_COUNT))
    )
    return int(total or 0), list(rows)


async def _flush_unique(session: AsyncSession, what: str) -> None:
    # Two integrators racing past the checks above meet the unique constraint here.
    try:
        await session.flush()
    except IntegrityError as exc:
        raise uniqueness(f"Another request took this {what} at the same time.") from exc


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
