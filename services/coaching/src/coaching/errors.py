"""Coaching's domain errors (the tree itself is documented in ``kit.errors``)."""

from kit.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable


class AlreadyACoach(Conflict):
    slug = "already-a-coach"
    title = "Already a coach"


class CoachNotFound(NotFound):
    slug = "coach-not-found"
    title = "Coach not found"


class CoachAtCapacity(Conflict):
    slug = "coach-at-capacity"
    title = "Coach at capacity"


class EngagementNotFound(NotFound):
    slug = "engagement-not-found"
    title = "Engagement not found"


class IllegalTransition(Conflict):
    slug = "illegal-transition"
    title = "Transition not allowed"


class IncidentAlreadyLinked(Conflict):
    slug = "incident-already-linked"
    title = "Incident already has an engagement"


class IncidentWithdrawn(Conflict):
    slug = "incident-withdrawn"
    title = "The incident was withdrawn"


class SessionNotFound(NotFound):
    slug = "session-not-found"
    title = "Session not found"


class ApplicationNotFound(NotFound):
    slug = "application-not-found"
    title = "Application not found"


class NotEligible(Unprocessable):
    slug = "not-eligible"
    title = "Not eligible for the ambassador program"


class PersonNotFound(Unprocessable):
    slug = "person-not-found"
    title = "Person not in the directory"


class UpstreamUnavailable(ServiceUnavailable):
    """Another service (through the gateway) could not answer; we never guess instead."""

    slug = "upstream-unavailable"
    title = "A service this answer depends on is unavailable"
