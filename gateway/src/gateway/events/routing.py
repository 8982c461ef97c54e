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
    # The managers of these people (the directory's manager of each).
    managers_of: tuple[uuid.UUID, ...] = ()
    # Every active person (a policy everyone must acknowledge).
    everyone: bool = False
    never: frozenset[uuid.UUID] = field(default_factory=frozenset)
    # The person the message is about, named in it as ``person_name`` (a manager is told
    # which of their reports it concerns).
    about: uuid.UUID | None = None


POLICY_PATH = "/api/v1/training/policy"


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


def _owner(data: Mapping[str, Any], *, template: str, context: Mapping[str, Any]) -> Audience:
    """The owner of the decision in force: the person, or everyone holding the role."""
    owner_id = _id(data.get("owner_id"))
    return Audience(
        template=template,
        context=context,
        path=f"/api/v1/incidents/{data['incident_id']}",
        people=_ids(owner_id),
        roles=() if owner_id or not data.get("owner_role") else (str(data["owner_role"]),),
        never=frozenset(_ids(data.get("person_id"))),
    )


def _deadline_facts(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: data.get(key) for key in ("severity", "category", "action", "deadline_at")}


def _incident_reminder(event: Event) -> list[Audience]:
    """The owner, before the deadline."""
    data = event.data
    return [_owner(data, template="incident.reminder", context=_deadline_facts(data))]


def _incident_overdue(event: Event) -> list[Audience]:
    """The owner, then whoever the rule names for a missed deadline (``escalate_to``):
    ``owner_manager``, ``manager`` (the person's), ``hr``, ``legal``, ``group:<name>``."""
    data = event.data
    facts = _deadline_facts(data)
    owner = _owner(data, template="incident.overdue", context=facts)
    audiences = [owner]
    owner_id = _id(data.get("owner_id"))
    for party in map(str, data.get("escalate_to", [])):
        group = party.removeprefix("group:") if party.startswith("group:") else None
        if party == "owner_manager" and owner_id is None:
            continue  # the owner is a role: its holders are already told, as owners
        audiences.append(
            Audience(
                template="incident.overdue_escalated",
                context={**facts, "told_as": "group" if group else party, "group": group},
                path=owner.path,
                roles=(party,) if party in ("hr", "legal") else (),
                groups=(group,) if group else (),
                managers_of={
                    "owner_manager": _ids(owner_id),
                    "manager": _ids(data.get("person_id")),
                }.get(party, ()),
                never=owner.never,
            )
        )
    return audiences


def _assignment_facts(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"module_title": data.get("module_title"), "due_at": data.get("due_at")}


def _assignment_path(data: Mapping[str, Any]) -> str:
    return f"/api/v1/training/assignments/{data['assignment_id']}"


Facts = Callable[[Mapping[str, Any]], Mapping[str, Any]]


def _to_person(
    template: str, *, facts: Facts, path: Callable[[Mapping[str, Any]], str]
) -> Callable[[Event], list[Audience]]:
    """The event's person."""

    def route(event: Event) -> list[Audience]:
        data = event.data
        return [
            Audience(
                template=template,
                context=facts(data),
                path=path(data),
                people=_ids(data.get("person_id")),
            )
        ]

    return route


def _assignment_to_person(template: str) -> Callable[[Event], list[Audience]]:
    return _to_person(template, facts=_assignment_facts, path=_assignment_path)


def _their_manager(
    data: Mapping[str, Any], *, template: str, context: Mapping[str, Any], path: str
) -> Audience:
    """The manager of the event's person, told whose it is (never that person)."""
    person = _ids(data.get("person_id"))
    return Audience(
        template=template,
        context=context,
        path=path,
        managers_of=person,
        never=frozenset(person),
        about=person[0] if person else None,
    )


def _assignment_overdue(event: Event) -> list[Audience]:
    """The person, and their manager."""
    data = event.data
    return [
        *_assignment_to_person("training.assignment.overdue")(event),
        _their_manager(
            data,
            template="training.assignment.overdue_manager",
            context=_assignment_facts(data),
            path=_assignment_path(data),
        ),
    ]


def _acknowledgement_requested(event: Event) -> list[Audience]:
    """Every active person: a new version of the policy asks each to acknowledge it; or
    one person, whose acknowledgement must be renewed before it lapses."""
    data = event.data
    if data.get("requested_of") == "person":
        return _acknowledgement_to_person("training.acknowledgement.renewal")(event)
    return [
        Audience(
            template="training.acknowledgement.requested",
            context={"title": data.get("title"), "number": data.get("number")},
            path=POLICY_PATH,
            everyone=True,
        )
    ]


def _acknowledgement_facts(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: data.get(key) for key in ("title", "number", "due_at")}


def _acknowledgement_to_person(template: str) -> Callable[[Event], list[Audience]]:
    """The person whose acknowledgement must be renewed soon, or lapsed."""
    return _to_person(template, facts=_acknowledgement_facts, path=lambda data: POLICY_PATH)


def _acknowledgement_overdue(event: Event) -> list[Audience]:
    """The person whose acknowledgement lapsed, and their manager."""
    data = event.data
    return [
        *_acknowledgement_to_person("training.acknowledgement.overdue")(event),
        _their_manager(
            data,
            template="training.acknowledgement.overdue_manager",
            context=_acknowledgement_facts(data),
            path=POLICY_PATH,
        ),
    ]


def _engagement_opened(event: Event) -> list[Audience]:
    """The coachee, and the coach when one is assigned."""
    data = event.data
    context = {"track": data.get("track")}
    path = f"/api/v1/coaching/engagements/{data['engagement_id']}"
    coachee = _ids(data.get("coachee_id"))
    return [
        Audience(
            template="coaching.engagement.opened_coachee",
            context=context,
            path=path,
            people=coachee,
        ),
        Audience(
            template="coaching.engagement.opened_coach",
            context=context,
            path=path,
            people=_ids(data.get("coach_person_id")),
            never=frozenset(coachee),
            about=coachee[0] if coachee else None,
        ),
    ]


def _coach_assigned(event: Event) -> list[Audience]:
    """The coach assigned after the engagement opened (not when they took it on
    themselves)."""
    data = event.data
    coachee = _ids(data.get("coachee_id"))
    return [
        Audience(
            template="coaching.engagement.coach_assigned",
            context={"track": data.get("track")},
            path=f"/api/v1/coaching/engagements/{data['engagement_id']}",
            people=_ids(data.get("coach_person_id")),
            never=frozenset((*coachee, *_ids(data.get("assigned_by")))),
            about=coachee[0] if coachee else None,
        )
    ]


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
    "incident.reminder": _incident_reminder,
    "incident.overdue": _incident_overdue,
    "training.assignment.created": _assignment_to_person("training.assignment.created"),
    "training.assignment.reminder": _assignment_to_person("training.assignment.reminder"),
    "training.acknowledgement.requested": _acknowledgement_requested,
    "coaching.engagement.opened": _engagement_opened,
    "coaching.engagement.coach_assigned": _coach_assigned,
    "training.assignment.overdue": _assignment_overdue,
    "training.acknowledgement.reminder": _acknowledgement_to_person(
        "training.acknowledgement.reminder"
    ),
    "training.acknowledgement.overdue": _acknowledgement_overdue,
    "webhook.endpoint.disabled": _webhook_disabled,
}


def audiences(event: Event) -> list[Audience]:
    """Who is told about ``event`` (nobody, for a type no person is told about)."""
    route = ROUTES.get(event.type)
    return route(event) if route is not None else []
