"""Decisions about one person are taken one at a time, so each counts the others:
concurrent reports into two incidents processes on real connection pools end with
prior-incident counts 0..N-1 in the order the posts were made."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, func, select

import incidents.main
from gateway.models import Person
from incidents.config import IncidentsSettings
from incidents.decision.models import JobKind, PendingJob
from incidents.decision.worker import Worker
from kit.identity import InternalTokenSigner, PrincipalKind
from kit.settings import DEV_INTERNAL_TOKEN_SECRET
from tests.incidents.conftest import (
    Org,
    as_hr,
    fresh_coaching_breaker,
    incident_body,
    make_org,
    seed_policy,
    worker,
)
from tests.incidents.test_one_person_at_a_time import posted, prior_incidents
from tests.support.stack import StackHandle

REPORTS = 12


@pytest.fixture
async def org(committed_stack: StackHandle) -> AsyncIterator[Org]:
    await seed_policy(committed_stack)
    with fresh_coaching_breaker(committed_stack):
        yield await make_org(committed_stack)


@contextlib.asynccontextmanager
async def second_incidents_process(stack: StackHandle) -> AsyncIterator[FastAPI]:
    """Another incidents instance on the same database, with its own pool and its own
    in-process queue of decisions (as a second replica would have)."""
    settings: IncidentsSettings = stack.stack.settings["incidents"]
    app = incidents.main.create_app(
        settings, gateway_transport=httpx.ASGITransport(stack.stack.apps["gateway"])
    )
    async with app.router.lifespan_context(app):
        yield app


def reporting_client(app: FastAPI, reporter: Person) -> httpx.AsyncClient:
    """Straight to one incidents instance, with the internal token the gateway would sign."""
    token = InternalTokenSigner(DEV_INTERNAL_TOKEN_SECRET).sign(
        audience="incidents", subject=str(reporter.id), kind=PrincipalKind.USER
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app),
        base_url="http://incidents",
        headers={"Authorization": f"Bearer {token}"},
    )


async def drain(stack: StackHandle, workers: list[Worker]) -> None:
    """Run the workers until no job is due (recounts and decisions queued by the race)."""
    for _ in range(50):
        for each in workers:
            await each.run_due()
        async with stack.stack.database("incidents").transaction(write=False) as session:
            left = await session.scalar(
                select(func.count())
                .select_from(PendingJob)
                .where(col(PendingJob.kind) != JobKind.OPEN_REMEDIAL)
            )
        if not left:
            return
    raise AssertionError("jobs were still pending after 50 rounds")


class TestConcurrentReports:
    async def test_concurrent_reports_into_two_processes_count_0_to_n_minus_1(
        self, committed_stack: StackHandle, org: Org
    ) -> None:
        stack = committed_stack
        async with second_incidents_process(stack) as second:
            first = stack.stack.apps["incidents"]
            clients = [reporting_client(app, org.reporter) for app in (first, second)]
            bodies = [
                incident_body(org.employee, severity="low", occurred_at=posted(REPORTS - i))
                for i in range(REPORTS)
            ]

            responses = await asyncio.gather(
                *(
                    clients[i % 2].post("/api/v1/incidents", json=body)
                    for i, body in enumerate(bodies)
                )
            )
            await drain(stack, [worker(stack), second.state.worker])
            for client in clients:
                await client.aclose()

        assert [r.status_code for r in responses] == [201] * REPORTS
        decided = [await as_hr(stack, org, r.json()["id"]) for r in responses]
        assert all(incident["status"] == "decided" for incident in decided)
        # In the order the posts were made: each decision counted every earlier one.
        assert [prior_incidents(i["decision"]) for i in decided] == list(range(REPORTS))
