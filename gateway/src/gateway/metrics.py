"""The gateway's own Prometheus series (the request series every app has live in kit)."""

from prometheus_client import Counter, Gauge, Histogram

UPSTREAM_REQUEST_SECONDS = Histogram(
    "smp_gateway_upstream_request_seconds",
    "Time from sending a request to an upstream service until its response was relayed.",
    ["upstream", "outcome"],  # outcome: ok | refused | timeout | breaker_open
)

BREAKER_STATE = Gauge(
    "smp_gateway_upstream_breaker_state",
    "Circuit breaker per upstream: 0 closed, 1 half-open, 2 open.",
    ["upstream"],
)

DELIVERIES_TOTAL = Counter(
    "smp_gateway_deliveries_total",
    "E-mails and webhook deliveries attempted, by outcome (delivered, failed: retried later, "
    "gave_up: the endpoint was disabled).",
    ["channel", "outcome"],  # channel: email | webhook
)
