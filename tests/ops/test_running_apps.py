"""The four apps as real processes (`python -m <app> serve`, as in the images).

Their logs: one JSON object per line, an access line per request with its request id, route
template, status and duration, and nothing personal or secret (no tokens, no query strings,
no bodies). Their `/metrics`: each process its own series, including the app-specific ones
the gateway and incidents declare."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.ops.metrics_scrape import families, samples, value
from tests.ops.processes import log_lines, poll, running_apps
from tests.support.databases import APPS
from tests.support.processes import RunningStack

pytestmark = pytest.mark.e2e

PRIVATE_EMAIL = "private.person@northwind.example"
# What identifies a person in a log line besides their id: an e-mail address, or a URL's
# query string (``?id=...``, ``?person_id=...``, ``?department=...``).
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
QUERY_STRING = re.compile(r"[?&][A-Za-z_]+=")
ACCESS_FIELDS = {"time", "level", "app", "request_id", "route", "status", "duration_ms", "method"}


@pytest.fixture(scope="module")
async def processes(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningStack]:
    async with running_apps(tmp_path_factory.mktemp("apps")) as stack:
        yield stack


@pytest.fixture(scope="module")
def token(processes: RunningStack) -> str:
    return processes.command("gateway", "token", "--user", "emma.employee")


async def access_line(stack: RunningStack, app: str, request_id: str) -> dict[str, Any]:
    """The access line ``app`` wrote for ``request_id`` (written once the response is sent)."""

    def found() -> list[dict[str, Any]]:
        return [
            line
            for line in log_lines(stack, app)
            if line.get("logger") == "kit.access" and line.get("request_id") == request_id
        ]

    await poll(lambda: bool(found()), what=f"{app}'s access line for {request_id}")
    [line] = found()
    return line


class TestAccessLines:
    async def test_a_request_is_logged_once_as_json_with_its_route_template(
        self, processes: RunningStack, token: str
    ) -> None:
        request_id = f"ops-{uuid.uuid4().hex}"
        async with httpx.AsyncClient(base_url=processes.url("gateway")) as client:
            response = await client.get(
                "/api/v1/me",
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id},
            )
            person_id = response.json()["id"]
            await client.get(
                f"/api/v1/directory/people/{person_id}",
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id + "-2"},
            )

        line = await access_line(processes, "gateway", request_id)
        by_id = await access_line(processes, "gateway", request_id + "-2")
        assert line.keys() >= ACCESS_FIELDS
        assert (line["app"], line["level"], line["method"]) == ("gateway", "INFO", "GET")
        assert (line["route"], line["status"]) == ("/api/v1/me", 200)
        assert line["duration_ms"] >= 0
        assert datetime.fromisoformat(line["time"]).tzinfo is not None
        assert by_id["route"] == "/api/v1/directory/people/{person_id}"

    async def test_the_service_logs_the_request_id_the_gateway_was_given(
        self, processes: RunningStack, token: str
    ) -> None:
        request_id = f"ops-{uuid.uuid4().hex}"
        async with httpx.AsyncClient(base_url=processes.url("gateway")) as client:
            response = await client.get(
                "/api/v1/training/policy",
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id},
            )

        line = await access_line(processes, "training", request_id)
        assert line["app"] == "training"
        assert (line["route"], line["status"]) == ("/api/v1/training/policy", response.status_code)


class TestNothingPersonalOrSecret:
    async def test_tokens_query_strings_bodies_and_raw_paths_stay_out_of_the_logs(
        self, processes: RunningStack, token: str
    ) -> None:
        secret_words = f"confidential-{uuid.uuid4().hex}"
        forged_token = f"forged-{uuid.uuid4().hex}"
        request_ids = [f"ops-{uuid.uuid4().hex}" for _ in range(4)]
        async with httpx.AsyncClient(base_url=processes.url("gateway")) as client:
            await client.get(
                "/api/v1/directory/people",
                params={"email": PRIVATE_EMAIL, "q": secret_words},
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_ids[0]},
            )
            await client.post(
                "/api/v1/incidents/incidents",
                json={"description": f"{secret_words} posted by {PRIVATE_EMAIL}"},
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_ids[1]},
            )
            await client.get(
                "/api/v1/me",
                headers={"Authorization": f"Bearer {forged_token}", "X-Request-ID": request_ids[2]},
            )
            await client.get(f"/api/v1/{PRIVATE_EMAIL}", headers={"X-Request-ID": request_ids[3]})

        for request_id in request_ids:
            await access_line(processes, "gateway", request_id)
        await access_line(processes, "incidents", request_ids[1])
        for app in APPS:
            text = (processes.logs / f"{app}.log").read_text()
            for leaked in (token, forged_token, PRIVATE_EMAIL, secret_words):
                assert leaked not in text, f"{app} logged {leaked!r}"

    async def test_a_realistic_flow_leaves_no_person_id_email_or_query_string_in_any_line(
        self, processes: RunningStack
    ) -> None:
        """Employees, HR and the services calling each other (directory lookups by id,
        coaching history, training progress, remedial requests): then every line of every
        app is read for what identifies a person."""
        emma = {"Authorization": f"Bearer {user_token(processes, 'emma.employee')}"}
        hr = {"Authorization": f"Bearer {user_token(processes, 'hannah.hr')}"}
        async with httpx.AsyncClient(base_url=processes.url("gateway"), timeout=30) as client:
            me = (await client.get("/api/v1/me", headers=emma)).json()
            policy = (await client.get("/api/v1/training/policy", headers=emma)).json()
            await client.post(
                "/api/v1/training/policy/acknowledgements",
                json={"version_id": policy["id"]},
                headers=emma,
            )
            await client.get("/api/v1/training/me/assignments", headers=emma)
            await client.get("/api/v1/coaching/ambassadors/eligibility", headers=emma)
            await client.get(f"/api/v1/training/people/{me['id']}/progress", headers=hr)
            await client.get("/api/v1/directory/people", params={"department": "Sales"}, headers=hr)
            await client.get("/api/v1/training/reports/acknowledgements/people", headers=hr)
            await client.get("/api/v1/coaching/candidates", headers=hr)
            incident_ids = []
            for days in (30, 1):  # the second one asks coaching for Emma's history
                reported = await client.post(
                    "/api/v1/incidents",
                    json=incident_report(me["id"], days_ago=days),
                    headers=hr,
                )
                assert reported.status_code == 201, reported.text
                incident_ids.append(reported.json()["id"])

            async def remedial_requested() -> bool:
                incident = await client.get(f"/api/v1/incidents/{incident_ids[0]}", headers=hr)
                return incident.json().get("remedial_engagement_id") is not None

            await poll_async(remedial_requested, what="the remedial engagement")
            people = await every_person(client, hr)

        lines = [
            line
            for app in APPS
            for line in (processes.logs / f"{app}.log").read_text().splitlines()
        ]
        personal = [str(person["id"]) for person in people] + [
            person["email"] for person in people if person["email"]
        ]
        for line in lines:
            assert not QUERY_STRING.search(line), line
            assert not EMAIL.search(line), line
            for identifying in personal:
                assert identifying not in line, line

    @pytest.mark.parametrize("app", APPS)
    async def test_every_line_is_json_naming_the_app(
        self, processes: RunningStack, app: str
    ) -> None:
        lines = log_lines(processes, app)

        assert lines
        assert all({"time", "level", "app", "logger", "message"} <= line.keys() for line in lines)
        assert {line["app"] for line in lines} == {app}


def user_token(stack: RunningStack, user: str) -> str:
    return stack.command("gateway", "token", "--user", user)


def incident_report(person_id: str, *, days_ago: int) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "channel": "linkedin",
        "links": [f"https://www.linkedin.com/posts/q3-numbers-{days_ago}"],
        "occurred_at": (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(),
        "category": "confidential_information",
        "clauses": ["4.2"],
        "description": "Posted the unreleased Q3 revenue figures with a photo of the slide.",
        "severity": "medium",
    }


async def poll_async(condition: Callable[[], Awaitable[bool]], *, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 20
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"still waiting for {what}")
        await asyncio.sleep(0.1)


async def every_person(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    people: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/directory/people", params=params, headers=headers)).json()
        people += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return people


async def scrape(stack: RunningStack, app: str) -> str:
    async with httpx.AsyncClient(base_url=stack.url(app)) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


class TestMetricsOfAProcess:
    @pytest.mark.parametrize("app", APPS)
    async def test_a_process_reports_only_its_own_requests(
        self, processes: RunningStack, app: str
    ) -> None:
        text = await scrape(processes, app)

        apps = {
            dict(labels)["app"]
            for name, labels in samples(text)
            if name.startswith("smp_http_request")
        }
        assert apps == {app}  # the readiness probes, at least

    async def test_the_gateway_reports_upstream_latency_and_breaker_state(
        self, processes: RunningStack, token: str
    ) -> None:
        labels = {"upstream": "training", "outcome": "ok"}
        name = "smp_gateway_upstream_request_seconds_count"
        before = value(await scrape(processes, "gateway"), name, **labels)
        async with httpx.AsyncClient(base_url=processes.url("gateway")) as client:
            await client.get(
                "/api/v1/training/policy", headers={"Authorization": f"Bearer {token}"}
            )

        text = await scrape(processes, "gateway")

        assert value(text, name, **labels) == before + 1
        assert "smp_gateway_upstream_breaker_state" in families(text)

    async def test_incidents_reports_decisions_and_pending_decisions(
        self, processes: RunningStack
    ) -> None:
        text = await scrape(processes, "incidents")

        assert {"smp_incidents_decisions", "smp_incidents_pending_decisions"} <= families(text)
