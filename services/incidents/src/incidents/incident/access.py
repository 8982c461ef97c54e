"""Who sees what of an incident, and who may act on it (DESIGN §3 "Access").

* HR sees everything.
* Legal sees, like HR, what was escalated to legal (legal is a contact or the owner).
* Contacts and owners (the person's manager, the HR and legal people and group members
  contacted, a role such as coaches) see the incident, its decisions and timeline, but not
  who reported it.
* The person concerned sees the incident and its decision, not who reported it.
* The reporter sees what they reported and its status, not the decision.
* Everyone else gets a 404: they may not even know the incident exists.

Conflicts of interest come first: the person concerned gets the subject's view of their own
incident whatever roles they hold, and acts on it in no role; the reporter never owns or
decides what they reported (they may still be contacted, e.g. as the person's manager, and
add notes as such).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, or_
from sqlmodel import col

from incidents.decision.models import Assignment, AssignmentKind
from incidents.domain import OwnerRole
from incidents.errors import IncidentNotFound, NotAllowedOnIncident
from incidents.incident.models import Incident
from kit.identity import Caller, Role

# Roles an incident can be assigned to as a whole (the manager is always a person).
ASSIGNABLE_ROLES = frozenset({OwnerRole.HR, OwnerRole.LEGAL, OwnerRole.COACH})


class View(StrEnum):
    FULL = "full"
    ASSIGNEE = "assignee"
    SUBJECT = "subject"
    REPORTER = "reporter"


def view_of(
    caller: Caller, *, incident: Incident, assignments: Iterable[Assignment]
) -> View | None:
    """The widest view the caller has of the incident, or ``None`` if it is none of
    their business."""
    if caller.is_person(incident.person_id):
        return View.SUBJECT
    if caller.has_role(Role.HR):
        return View.FULL
    assigned = [a for a in assignments if _is_for(caller, a, incident=incident)]
    if caller.has_role(Role.LEGAL) and any(a.role == OwnerRole.LEGAL for a in assigned):
        return View.FULL
    if assigned:
        return View.ASSIGNEE
    if caller.is_person(incident.reporter_id):
        return View.REPORTER
    return None


def require_view(caller: Caller, *, incident: Incident, assignments: Iterable[Assignment]) -> View:
    view = view_of(caller, incident=incident, assignments=assignments)
    if view is None:
        raise IncidentNotFound(f"No incident {incident.id}, or it is not yours to see.")
    return view


def sees_reporter(caller: Caller, *, incident: Incident, view: View) -> bool:
    return view is View.FULL or caller.is_person(incident.reporter_id)


def sees_decision(view: View) -> bool:
    return view is not View.REPORTER


def sees_timeline(view: View) -> bool:
    return view in (View.FULL, View.ASSIGNEE)


def party_to(caller: Caller, *, incident: Incident) -> str | None:
    """Why the caller may not act on the incident in any role (a sentence), or ``None``.
    It names only the caller's own part, never the other party."""
    if caller.is_person(incident.person_id):
        return (
            "You are the person this incident is about: nobody acts on an incident about "
            "themselves (conflict of interest); others holding your role handle it."
        )
    if caller.is_person(incident.reporter_id):
        return (
            "You reported this incident: the reporter does not own or decide it (conflict "
            "of interest); others holding your role handle it."
        )
    return None


def is_owner(caller: Caller, *, incident: Incident) -> bool:
    if party_to(caller, incident=incident) is not None:
        return False
    if incident.owner_id is not None:
        return caller.is_person(incident.owner_id)
    return incident.owner_role is not None and caller.has_role(incident.owner_role)


def may_act(caller: Caller, *, incident: Incident, view: View) -> bool:
    """Move the incident along its lifecycle: HR, legal when escalated, the owner; never a
    party to it."""
    if party_to(caller, incident=incident) is not None:
        return False
    return view is View.FULL or is_owner(caller, incident=incident)


def check_may_act(caller: Caller, *, incident: Incident, view: View) -> None:
    if (conflict := party_to(caller, incident=incident)) is not None:
        raise NotAllowedOnIncident(conflict)
    if not may_act(caller, incident=incident, view=view):
        raise NotAllowedOnIncident(
            "Only the owner of this incident, HR (or legal, when it was escalated to legal) "
            "can change its status."
        )


def check_may_dismiss(caller: Caller, *, incident: Incident, view: View) -> None:
    if (conflict := party_to(caller, incident=incident)) is not None:
        raise NotAllowedOnIncident(conflict)
    if view is not View.FULL:
        raise NotAllowedOnIncident(
            "Only HR (or legal, when it was escalated to legal) can dismiss an incident."
        )


def check_may_decide(caller: Caller, *, incident: Incident) -> None:
    """Override or decide again (HR, checked by the route): never a party to it."""
    if (conflict := party_to(caller, incident=incident)) is not None:
        raise NotAllowedOnIncident(conflict)


def check_may_note(view: View) -> None:
    if not sees_timeline(view):
        raise NotAllowedOnIncident(
            "Notes are added by HR, legal and the people the incident was assigned to."
        )


def check_sees_timeline(view: View) -> None:
    if not sees_timeline(view):
        raise NotAllowedOnIncident(
            "The timeline is for HR, legal and the people the incident was assigned to."
        )


def visible_to(caller: Caller) -> ColumnElement[bool] | None:
    """The SQL condition for the incidents the caller may see; ``None`` means all (HR)."""
    if caller.has_role(Role.HR):
        return None
    return or_(
        col(Incident.person_id) == caller.person_id,
        col(Incident.reporter_id) == caller.person_id,
        assigned_to(caller),
    )


def assigned_to(caller: Caller) -> ColumnElement[bool]:
    """The SQL condition for incidents assigned to the caller, in person or by role (a
    person's assignment also names the role they were contacted for; it is theirs alone).
    Never their own incident, and never the ownership of one they reported."""
    roles = sorted(role.value for role in ASSIGNABLE_ROLES if caller.has_role(role))
    by_role = and_(col(Assignment.person_id).is_(None), col(Assignment.role).in_(roles))
    owned_by_role_as_reporter = and_(
        col(Assignment.kind) == AssignmentKind.OWNER, col(Incident.reporter_id) == caller.person_id
    )
    return and_(
        col(Incident.person_id) != caller.person_id,
        exists().where(
            col(Assignment.incident_id) == col(Incident.id),
            or_(
                col(Assignment.person_id) == caller.person_id,
                and_(by_role, ~owned_by_role_as_reporter),
            ),
        ),
    )


def _is_for(caller: Caller, assignment: Assignment, *, incident: Incident) -> bool:
    if assignment.person_id is not None:
        return caller.is_person(assignment.person_id)
    if assignment.kind is AssignmentKind.OWNER and caller.is_person(incident.reporter_id):
        return False
    return assignment.role is not None and caller.has_role(assignment.role)
