"""Incidents' domain errors (the tree itself is documented in ``kit.errors``)."""

from kit.errors import Conflict, Forbidden, NotFound, Unprocessable


class NoPublishedEscalationPolicy(NotFound):
    slug = "no-published-escalation-policy"
    title = "No published escalation policy"


class EscalationPolicyNotFound(NotFound):
    slug = "escalation-policy-not-found"
    title = "Escalation policy not found"


class DraftAlreadyExists(Conflict):
    slug = "escalation-policy-draft-exists"
    title = "A draft already exists"


class PolicyNotEditable(Conflict):
    slug = "escalation-policy-not-editable"
    title = "Only a draft can change"


class PolicyIncomplete(Unprocessable):
    slug = "escalation-policy-incomplete"
    title = "The policy does not decide every incident"


class IncidentNotFound(NotFound):
    slug = "incident-not-found"
    title = "Incident not found"


class PersonNotInDirectory(Unprocessable):
    slug = "person-not-in-directory"
    title = "Unknown person"


class IllegalTransition(Conflict):
    slug = "illegal-transition"
    title = "Transition not allowed"


class NotAllowedOnIncident(Forbidden):
    slug = "not-allowed-on-incident"
    title = "Not allowed on this incident"


class DecisionNotPossible(Conflict):
    slug = "decision-not-possible"
    title = "Cannot decide now"


class DecisionRaced(Conflict):
    slug = "decision-raced"
    title = "The incident changed while it was being decided"
