"""Every event type integrators can subscribe to, with what it means (the README's table
says what each carries)."""

from __future__ import annotations

from collections.abc import Mapping

EVENT_TYPES: Mapping[str, str] = {
    "incident.reported": "An incident was reported.",
    "incident.decided": "An incident was decided by the escalation policy.",
    "incident.escalated": "HR overrode a decision, or a new decision replaced the one in force.",
    "incident.closed": "An incident was resolved or dismissed.",
    "incident.reminder": "An open incident's deadline is near (its owner is reminded).",
    "incident.overdue": "An open incident passed its deadline; escalated as its rule says.",
    "training.assignment.created": "A module was assigned to a person, with a due date.",
    "training.assignment.reminder": "An assignment is due soon and not completed.",
    "training.assignment.overdue": "An assignment passed its due date without completion.",
    "training.acknowledgement.requested": "A new policy version asks every active employee "
    "to acknowledge it, or one person's acknowledgement must be renewed before it lapses.",
    "training.acknowledgement.reminder": "A person's policy acknowledgement must be renewed "
    "soon and was not yet.",
    "training.acknowledgement.overdue": "A person's policy acknowledgement lapsed without "
    "a renewal.",
    "policy.published": "A version of the social media policy was published.",
    "coaching.engagement.opened": "A coaching engagement was opened (proposed).",
    "coaching.engagement.coach_assigned": "An open coaching engagement got a (new) coach.",
    "coaching.engagement.completed": "A coaching engagement was completed, with its outcome.",
    "coaching.ambassador.suspended": "An ambassador's role was suspended (an incident "
    "decision, or a remedial referral).",
    "directory.person.created": "The identity provider provisioned a person (SCIM).",
    "directory.person.updated": "A person's directory record changed (SCIM).",
    "directory.person.deactivated": "A person was deactivated or deleted (SCIM).",
}
