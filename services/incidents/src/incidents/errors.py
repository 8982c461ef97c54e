"""Incidents' domain errors (the tree itself is documented in ``kit.errors``)."""

from kit.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, Unprocessable


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


class PolicyNotSubmitted(Conflict):
    slug = "escalation-policy-not-submitted"
    title = "Not submitted for approval"


class PolicyAlreadySubmitted(Conflict):
    slug = "escalation-policy-already-submitted"
    title = "Already submitted for approval"


class PolicyContentChanged(Conflict):
    slug = "escalation-policy-content-changed"
    title = "The content changed since you read it"


class VerdictAlreadyGiven(Conflict):
    slug = "escalation-policy-verdict-given"
    title = "You already gave your verdict on this content"


class NotAnApprover(Forbidden):
    slug = "not-an-approver"
    title = "Not an approver"


class ApproverNeeded(Unprocessable):
    slug = "approver-needed"
    title = "Say which approver you approve as"


class PolicyNotSignedOff(Conflict):
    slug = "escalation-policy-not-signed-off"
    title = "Not signed off"


class DirectoryUnavailable(ServiceUnavailable):
    slug = "directory-unavailable"
    title = "The directory cannot be reached"


class ReplayWindowEmpty(Unprocessable):
    slug = "replay-window-empty"
    title = "Nothing to replay in this window"


class ReplayNotFound(NotFound):
    slug = "replay-not-found"
    title = "Replay not found"


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


class TrainingUnavailable(ServiceUnavailable):
    slug = "training-unavailable"
    title = "Training unavailable"
