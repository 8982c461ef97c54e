"""`/metrics` on every app: request counts and latency by route template and status."""

from __future__ import annotations

import uuid

import pytest

from tests.ops.metrics_scrape import samples, value
from tests.support.stack import StackHandle

APPS = ("gateway", "training", "coaching", "incidents")


async def scrape(stack: StackHandle, app: str) -> str:
    # No token at all: a scraper is not a person or a service principal.
    response = await stack.client(app).get("/metrics")
    assert response.status_code == 200
    return response.text


class TestMetricsEndpoint:
    @pytest.mark.parametrize("app", APPS)
    async def test_every_app_serves_prometheus_text_without_a_token(
        self, stack: StackHandle, app: str
    ) -> None:
        response = await stack.client(app).get("/metrics")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=")
        assert "# TYPE smp_http_requests_total counter" in response.text
        assert "# TYPE smp_http_request_duration_seconds histogram" in response.text

    async def test_a_scraper_asking_for_openmetrics_gets_it(self, stack: StackHandle) -> None:
        response = await stack.client("incidents").get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )

        assert response.headers["content-type"].startswith("application/openmetrics-text")
        assert response.text.endswith("# EOF\n")

    async def test_it_is_not_in_the_openapi_document(self, stack: StackHandle) -> None:
        document = (await stack.client().get("/openapi.json")).json()

        assert "/metrics" not in document["paths"]

    async def test_scrapes_are_not_counted_as_traffic(self, stack: StackHandle) -> None:
        await scrape(stack, "training")

        text = await scrape(stack, "training")

        assert not [key for key in samples(text) if ("route", "/metrics") in key[1]]


class TestRequestSeries:
    async def test_a_request_is_counted_by_route_template_and_status(
        self, stack: StackHandle
    ) -> None:
        person = await stack.person()
        labels = {
            "app": "gateway",
            "method": "GET",
            "route": "/api/v1/directory/people/{person_id}",
            "status": "200",
        }
        before = value(await scrape(stack, "gateway"), "smp_http_requests_total", **labels)

        response = await stack.as_user(person).get(f"/api/v1/directory/people/{person.id}")

        text = await scrape(stack, "gateway")
        assert response.status_code == 200
        assert value(text, "smp_http_requests_total", **labels) == before + 1
        assert str(person.id) not in text

    async def test_latency_is_observed_per_route_template(self, stack: StackHandle) -> None:
        person = await stack.person()
        labels = {"app": "gateway", "method": "GET", "route": "/api/v1/me"}
        name = "smp_http_request_duration_seconds_count"
        before = value(await scrape(stack, "gateway"), name, **labels)

        await stack.as_user(person).get("/api/v1/me")

        text = await scrape(stack, "gateway")
        assert value(text, name, **labels) == before + 1
        assert value(text, "smp_http_request_duration_seconds_sum", **labels) > 0

    async def test_a_service_counts_the_requests_the_gateway_forwards_to_it(
        self, stack: StackHandle
    ) -> None:
        person = await stack.person()
        gateway_before = await scrape(stack, "gateway")
        training_before = await scrape(stack, "training")

        response = await stack.as_user(person).get("/api/v1/training/policy")

        status = str(response.status_code)
        at_gateway = {"app": "gateway", "method": "GET", "route": "proxy:training"}
        at_training = {"app": "training", "method": "GET", "route": "/api/v1/training/policy"}
        gateway_after = await scrape(stack, "gateway")
        training_after = await scrape(stack, "training")
        for before, after, labels in (
            (gateway_before, gateway_after, at_gateway),
            (training_before, training_after, at_training),
        ):
            previous = value(before, "smp_http_requests_total", **labels, status=status)
            assert value(after, "smp_http_requests_total", **labels, status=status) == previous + 1

    async def test_unknown_paths_share_one_series_whatever_the_path(
        self, stack: StackHandle
    ) -> None:
        labels = {"app": "gateway", "method": "GET", "route": "unmatched", "status": "404"}
        before = value(await scrape(stack, "gateway"), "smp_http_requests_total", **labels)
        probes = [f"/no-such-thing/{uuid.uuid4()}" for _ in range(3)]

        for path in probes:
            assert (await stack.client().get(path)).status_code == 404

        text = await scrape(stack, "gateway")
        assert value(text, "smp_http_requests_total", **labels) == before + 3
        assert not any(path in text for path in probes)

    async def test_an_upstream_failure_is_counted_with_its_status(self, stack: StackHandle) -> None:
        person = await stack.person()
        labels = {"app": "gateway", "method": "GET", "route": "proxy:coaching", "status": "502"}
        before = value(await scrape(stack, "gateway"), "smp_http_requests_total", **labels)

        with stack.upstream_down("coaching"):
            response = await stack.as_user(person).get("/api/v1/coaching/coaches")

        assert response.status_code == 502
        text = await scrape(stack, "gateway")
        assert value(text, "smp_http_requests_total", **labels) == before + 1
