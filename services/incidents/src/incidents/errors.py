"""Incidents' domain errors (the tree itself is documented in ``kit.errors``)."""

from kit.errors import NotFound


class NoPublishedEscalationPolicy(NotFound):
    slug = "no-published-escalation-policy"
    title = "No published escalation policy"
