"""Who is told what, per event type: pure functions of the event, so the rules read in
one place and are tested without a database.

An :class:`Audience` names people by id, or by a role or group the directory resolves
when the event arrives; ``never`` are the parties who are not told (the person an
incident is about is never told as its contact or owner). One person gets one message
per event: the first audience that names them wins (the owner's message before a
contact's).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kit.outbox import Event


@dataclass(frozen=True, slots=True)
class Audience:
    template: str
    context: Mapping[str, Any]
    path: str | None = None
    people: tuple[uuid.UUID, ...] = ()
    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    never: frozenset[uuid.UUID] = field(default_factory=frozenset)


def _id(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def _ids(*values: Any) -> tuple[uuid.UUID, ...]:
    return tuple(found for found in (_id(value) for value in values) if found is not None)


def _decision(event: Event) -> list[Audience]:
    """The owner (with the deadline) and every contact of a decision."""
    data = event.data
    facts = {key: data.get(key) for key in ("severity", "category", "action", "deadline_at")}
    path = f"/api/v1/incidents/{data['incident_id']}"
    never = frozenset(_ids(data.get("person_id")))
    owner_id = _id(data.get("owner_id"))
    audiences = [
        Audience(
            template="incident.owner",
            context=facts,
            path=path,
            people=_ids(owner_id),
            roles=() if owner_id else (str(data["owner_role"]),),
            never=never,
        )
    ]
    for contact in data.get("contacts", []):
        person_id = _id(contact.get("person_id"))
        role, group = contact.get("role"), contact.get("group")
        contacted_as = f"group {group}" if group else contact.get("kind") or role or "contact"
        audiences.append(
            Audience(
                template="incident.contacted",
                context={**facts, "contacted_as": contacted_as},
                path=path,
                people=_ids(person_id),
                roles=(str(role),) if role and person_id is None else (),
                groups=(str(group),) if group and person_id is None else (),
                never=never,
            )
        )
    return audiences


def _webhook_disabled(event: Event) -> list[Audience]:
    data = event.data
    return [
        Audience(
            template="webhook.disabled",
            context={"url": data["url"], "reason": data["reason"]},
            path=f"/api/v1/admin/webhooks/{data['endpoint_id']}",
            roles=("admin",),
        )
    ]


ROUTES: Mapping[str, Callable[[Event], list[Audience]]] = {
    "incident.decided": _decision,
    "incident.escalated": _decision,
    "webhook.endpoint.disabled": _webhook_disabled,
}


def audiences(event: Event) -> list[Audience]:
    """Who is told about ``event`` (nobody, for a type no person is told about)."""
    route = ROUTES.get(event.type)
    return route(event) if route is not None else []
