"""The incidents service's own Prometheus series (request series live in kit)."""

from prometheus_client import Counter, Gauge

DECISIONS_TOTAL = Counter(
    "smp_incidents_decisions_total",
    "Escalation decisions taken, by action and by how they were taken.",
    ["action", "trigger"],  # trigger: reported | requested | retried
)

PENDING_DECISIONS = Gauge(
    "smp_incidents_pending_decisions",
    "Incidents awaiting history from coaching before they can be decided.",
)
