"""Every incidents table, in one place for migrations and seeds. API shapes live in each
sub-package's ``schemas.py``."""

from incidents.decision.models import (
    Assignment,
    AssignmentKind,
    Decision,
    DecisionKind,
    JobKind,
    PendingJob,
    PersonRecord,
    Trigger,
)
from incidents.incident.models import Incident, TimelineEntry, TimelineKind
from incidents.policy.models import (
    EscalationPolicy,
    EscalationRule,
    PolicyApproval,
    PolicyApprover,
    PolicyEvent,
    PolicyEventKind,
    PolicyReplay,
    PolicyStatus,
    ReplayStatus,
)

__all__ = [
    "Assignment",
    "AssignmentKind",
    "Decision",
    "DecisionKind",
    "EscalationPolicy",
    "EscalationRule",
    "Incident",
    "JobKind",
    "PendingJob",
    "PersonRecord",
    "PolicyApproval",
    "PolicyApprover",
    "PolicyEvent",
    "PolicyEventKind",
    "PolicyReplay",
    "PolicyStatus",
    "ReplayStatus",
    "TimelineEntry",
    "TimelineKind",
    "Trigger",
]
