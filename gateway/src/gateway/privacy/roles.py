"""Role changes go into the gateway's access audit.

Roles come from group membership (``GATEWAY_GROUP_ROLES``), so a role changes when a
person joins or leaves a mapped group, when a mapped group is renamed or deleted, and when
a person is deleted. Each granted or revoked role is one entry, written in the transaction
of the change.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import audit_trail
from kit.audit import AuditAction, AuditRecord
from kit.identity import Caller


@dataclass(frozen=True, slots=True)
class Membership:
    """A group's name and members at one moment."""

    group_id: uuid.UUID
    name: str | None
    members: frozenset[uuid.UUID]

    def roles(self, group_roles: Mapping[str, str]) -> set[tuple[uuid.UUID, str]]:
        role = group_roles.get(self.name) if self.name is not None else None
        return {(person, role) for person in self.members} if role is not None else set()


def membership(group_id: uuid.UUID, name: str | None, members: Iterable[uuid.UUID]) -> Membership:
    return Membership(group_id, name, frozenset(members))


async def record_role_changes(
    session: AsyncSession, request: Request, *, before: Membership, after: Membership
) -> None:
    """One audit entry per role granted or revoked between ``before`` and ``after``."""
    group_roles: Mapping[str, str] = request.app.state.group_roles
    old, new = before.roles(group_roles), after.roles(group_roles)
    caller: Caller = request.state.caller
    changes = [(AuditAction.ROLE_REVOKED, pair) for pair in sorted(old - new, key=str)]
    changes += [(AuditAction.ROLE_GRANTED, pair) for pair in sorted(new - old, key=str)]
    for action, (person_id, role) in changes:
        await audit_trail.append(
            session,
            AuditRecord.of(
                caller,
                request,
                action=action,
                object_type="group",
                object_id=before.group_id,
                person_id=person_id,
                detail=role,
            ),
        )
