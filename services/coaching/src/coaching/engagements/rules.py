"""Who may do what with an engagement, and which status changes are legal: plain functions
of their inputs, no database, no network."""

from __future__ import annotations

import uuid
from enum import StrEnum

from coaching.errors import IllegalTransition
from coaching.models import (
    Engagement,
    EngagementStatus,
    SessionStatus,
    Source,
    Track,
)
from coaching.schemas import EngagementCreate
from kit.errors import Forbidden, Unprocessable
from kit.identity import Caller, Role

# proposed → active → completed | cancelled; proposed → cancelled.
TRANSITIONS: dict[EngagementStatus, frozenset[EngagementStatus]] = {
    EngagementStatus.PROPOSED: frozenset({EngagementStatus.ACTIVE, EngagementStatus.CANCELLED}),
    EngagementStatus.ACTIVE: frozenset({EngagementStatus.COMPLETED, EngagementStatus.CANCELLED}),
    EngagementStatus.COMPLETED: frozenset(),
    EngagementStatus.CANCELLED: frozenset(),
}

SESSION_TRANSITIONS: dict[SessionStatus, frozenset[SessionStatus]] = {
    SessionStatus.SCHEDULED: frozenset(
        {SessionStatus.HELD, SessionStatus.MISSED, SessionStatus.CANCELLED}
    ),
    SessionStatus.HELD: frozenset(),
    SessionStatus.MISSED: frozenset(),
    SessionStatus.CANCELLED: frozenset(),
}

SELF_NOMINATION_TRACKS = frozenset({Track.DEVELOPMENT, Track.AMBASSADOR})


class Audience(StrEnum):
    """How a caller relates to one engagement; decides what they see and may do."""

    COACH = "coach"
    COACHEE = "coachee"
    OVERSEER = "overseer"  # HR, and the incidents service
    MANAGER = "manager"  # the coachee's manager
    COACH_POOL = "coach_pool"  # any coach, for an engagement still waiting for one


CONFIDANTS = frozenset({Audience.COACH, Audience.COACHEE})


def is_overseer(caller: Caller) -> bool:
    return caller.has_role(Role.HR) or caller.is_service("incidents")


def direct_audience(
    caller: Caller, *, engagement: Engagement, coach_person_id: uuid.UUID | None
) -> Audience | None:
    """The audience known without asking the directory (everything but "manager")."""
    if coach_person_id is not None and caller.is_person(coach_person_id):
        return Audience.COACH
    if caller.is_person(engagement.coachee_id):
        return Audience.COACHEE
    if is_overseer(caller):
        return Audience.OVERSEER
    if caller.has_role(Role.COACH) and engagement.coach_id is None and engagement.is_open:
        return Audience.COACH_POOL
    return None


def sees_notes(audience: Audience) -> bool:
    """Session notes are for the coach and the coachee only (DESIGN: confidentiality)."""
    return audience in CONFIDANTS


def check_transition(current: EngagementStatus, target: EngagementStatus) -> None:
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (it is closed)"
        raise IllegalTransition(
            f"An engagement that is {current} cannot become {target}; from {current} it can "
            f"become: {allowed}."
        )


def check_session_transition(current: SessionStatus, target: SessionStatus) -> None:
    if target != current and target not in SESSION_TRANSITIONS[current]:
        raise IllegalTransition(
            f"A session that is {current} cannot become {target}; only a scheduled session "
            "can be marked held, missed or cancelled."
        )


def check_creation_shape(data: EngagementCreate) -> None:
    """Combinations of track, source and incident that make sense."""
    if data.source is Source.INCIDENT:
        if data.incident_id is None:
            raise Unprocessable("An engagement from an incident needs its incident_id.")
        if data.track is not Track.REMEDIAL:
            raise Unprocessable("An engagement from an incident is on the remedial track.")
    elif data.incident_id is not None:
        raise Unprocessable("incident_id is only for engagements with source 'incident'.")
    if data.source is Source.SELF_NOMINATION and data.track not in SELF_NOMINATION_TRACKS:
        raise Unprocessable("A self-nomination is for the development or ambassador track.")


def check_may_create(
    caller: Caller, *, data: EngagementCreate, coachee_manager_id: uuid.UUID | None
) -> None:
    """Incidents opens remedial engagements; people nominate themselves; managers refer
    their direct reports; HR and coaches act on training signals; HR may do all of it."""
    allowed = {
        Source.INCIDENT: caller.is_service("incidents") or caller.has_role(Role.HR),
        Source.SELF_NOMINATION: caller.is_person(data.coachee_id),
        Source.MANAGER_REFERRAL: caller.has_role(Role.HR)
        or (coachee_manager_id is not None and caller.is_person(coachee_manager_id)),
        Source.TRAINING_SIGNAL: caller.has_role(Role.HR, Role.COACH),
    }[data.source]
    if not allowed:
        raise Forbidden(_CREATE_DENIED[data.source])


_CREATE_DENIED = {
    Source.INCIDENT: "Only the incidents service or HR opens engagements from incidents.",
    Source.SELF_NOMINATION: "A self-nomination is made by the coachee themselves.",
    Source.MANAGER_REFERRAL: "Only the coachee's manager or HR can refer them.",
    Source.TRAINING_SIGNAL: "Only HR or a coach opens engagements from training signals.",
}


def check_may_assign(caller: Caller, *, coach_person_id: uuid.UUID, taking_on: bool) -> None:
    """HR assigns any coach; a coach may take on an engagement themselves when creating it
    or when it is theirs or still waiting for a coach (``taking_on``)."""
    if caller.has_role(Role.HR):
        return
    if taking_on and caller.has_role(Role.COACH) and caller.is_person(coach_person_id):
        return
    raise Forbidden("Only HR assigns coaches; a coach may assign only themselves.")


def check_may_start_or_complete(audience: Audience, caller: Caller, *, starting: bool) -> None:
    if audience is Audience.COACH or (starting and caller.has_role(Role.HR)):
        return
    raise Forbidden(
        "Only the assigned coach (or HR) starts an engagement."
        if starting
        else "Only the assigned coach completes an engagement."
    )


def check_may_cancel(audience: Audience, caller: Caller, *, engagement: Engagement) -> None:
    if audience is Audience.COACH or caller.has_role(Role.HR):
        return
    own_proposal = (
        audience is Audience.COACHEE
        and engagement.source is Source.SELF_NOMINATION
        and engagement.status is EngagementStatus.PROPOSED
    )
    if own_proposal:
        return
    raise Forbidden(
        "Only the assigned coach or HR cancels an engagement; a coachee may withdraw only "
        "their own self-nomination while it is proposed."
    )


def check_may_manage_sessions(audience: Audience) -> None:
    if audience is not Audience.COACH:
        raise Forbidden("Only the engagement's coach schedules and records sessions.")
