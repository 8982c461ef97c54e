"""Prometheus metrics: the request series every app has, and ``/metrics`` to scrape them.

The request series are recorded by ``kit.observability.in_request_context`` (run by
kit.edge), which already times every request and knows its route template: one clock and
no second middleware layer on the hot path. Labels are route *templates*
(``/items/{id}``), never raw paths, so the number of series stays bounded whatever the
traffic.

Apps declare their own series (``gateway.metrics``, ``incidents.metrics``) in the same
default registry, so one scrape shows both.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.exposition import choose_encoder

METRICS_PATH = "/metrics"

REQUESTS_TOTAL = Counter(
    "smp_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["app", "method", "route", "status"],
)

REQUEST_DURATION_SECONDS = Histogram(
    "smp_http_request_duration_seconds",
    "Time from receiving a request to the end of its response, by route template.",
    ["app", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


# labels() takes a lock and builds its key on every call: keep the children per series.
_SERIES: dict[tuple[str, str, str, int], tuple[Counter, Histogram]] = {}


def observe_request(app: str, method: str, route: str, status: int, seconds: float) -> None:
    # A scrape is not traffic: counting it would make every idle app look busy.
    if route == METRICS_PATH:
        return
    key = (app, method, route, status)
    series = _SERIES.get(key)
    if series is None:
        series = _SERIES[key] = (
            REQUESTS_TOTAL.labels(app, method, route, str(status)),
            REQUEST_DURATION_SECONDS.labels(app, method, route),
        )
    requests, duration = series
    requests.inc()
    duration.observe(seconds)


router = APIRouter()


@router.get(METRICS_PATH, include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Every series of this process, in the format the scraper asks for (Prometheus text
    by default, OpenMetrics when its ``Accept`` prefers it)."""
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(REGISTRY), headers={"Content-Type": content_type})
