"""Retention in training on a frozen clock, with the real apps: the directory records when
a person was deactivated, training's reconciliation records the leavers with that date,
and twelve months after they left their quiz attempts are deleted and their community
posts anonymised (others' replies kept); a returner and an active person keep theirs; the
counts in training's audit."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import time_machine

from gateway.models import Person
from kit.identity import PrincipalKind
from tests.support.stack import StackHandle
from tests.training.factories import (
    API,
    policy_owner,
    publish_policy,
    published_module,
    take_quiz,
)
from tests.training.test_assignment_rules import hire, scim_patch
from training.config import TrainingSettings

REMOVED = "[removed by retention: the author left]"
NOTHING = {
    "quiz_attempts_deleted": 0,
    "community_threads_anonymised": 0,
    "community_replies_anonymised": 0,
}


@dataclass
class Traces:
    """What a person left behind in training, and a colleague's reply to it."""

    person_id: uuid.UUID
    attempt_id: str
    thread_id: str
    reply_id: str
    colleague_reply_id: str


async def leave_traces(stack: StackHandle, scim: httpx.AsyncClient) -> Traces:
    owner = await policy_owner(stack)
    await publish_policy(stack, owner)
    module = await published_module(stack, owner)
    person_id = await hire(scim, "Finance")
    client, colleague = stack.as_user(person_id), stack.as_user(await stack.person())
    attempt = await take_quiz(client, module, passing=True)
    assert attempt.status_code == 200, attempt.text
    thread = await client.post(
        f"{API}/community/threads", json={"title": "Can I post this?", "body": "My draft."}
    )
    theirs = await colleague.post(
        f"{API}/community/threads", json={"title": "Conference photos", "body": "OK to share?"}
    )
    reply = await client.post(
        f"{API}/community/threads/{theirs.json()['id']}/replies", json={"body": "Blur badges."}
    )
    answer = await colleague.post(
        f"{API}/community/threads/{thread.json()['id']}/replies", json={"body": "Ask comms."}
    )
    for response in (thread, theirs, reply, answer):
        assert response.status_code == 201, response.text
    return Traces(
        person_id,
        attempt.json()["id"],
        thread.json()["id"],
        reply.json()["id"],
        answer.json()["id"],
    )


async def reconcile(stack: StackHandle) -> None:
    await stack.stack.apps["training"].state.reconciler.run_once()


async def retention_after(stack: StackHandle, days: float) -> dict[str, int]:
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=days)):
        counts: dict[str, int] = await stack.stack.apps["training"].state.retention.run_once()
    return counts


async def held_about(stack: StackHandle, person_id: uuid.UUID) -> dict[str, Any]:
    """What training holds about the person: the part of a right-of-access export."""
    gateway = stack.direct("training", subject="service:gateway", kind=PrincipalKind.SERVICE)
    response = await gateway.get(f"{API}/privacy/people/{person_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def thread_with_replies(stack: StackHandle, thread_id: str) -> dict[str, Any]:
    """The thread as a colleague reads it, with its replies."""
    reader = stack.as_user(await stack.person())
    thread = await reader.get(f"{API}/community/threads/{thread_id}")
    replies = await reader.get(f"{API}/community/threads/{thread_id}/replies")
    assert thread.status_code == 200, thread.text
    assert replies.status_code == 200, replies.text
    body: dict[str, Any] = thread.json()
    return {**body, "replies": replies.json()["items"]}


class TestTheDirectoryKnowsWhenSomeoneLeft:
    async def test_deactivation_is_dated_and_a_return_clears_the_date(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        person_id = await hire(scim, "Finance")
        directory = stack.as_service("training")

        await scim_patch(scim, person_id, {"active": False})
        left = (await directory.get(f"/api/v1/directory/people/{person_id}")).json()
        await scim_patch(scim, person_id, {"active": True})
        back = (await directory.get(f"/api/v1/directory/people/{person_id}")).json()

        assert left["active"] is False
        deactivated = dt.datetime.fromisoformat(left["deactivated_at"])
        assert abs(dt.datetime.now(dt.UTC) - deactivated) < dt.timedelta(minutes=1)
        assert back["deactivated_at"] is None


class TestTrainingRetention:
    async def test_a_leavers_attempts_and_posts_go_twelve_months_after_they_left(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        traces = await leave_traces(stack, scim)
        await scim_patch(scim, traces.person_id, {"active": False})
        await reconcile(stack)

        early = await retention_after(stack, 360)
        kept = await held_about(stack, traces.person_id)
        late = await retention_after(stack, 366)
        held = await held_about(stack, traces.person_id)
        thread = await thread_with_replies(stack, traces.thread_id)

        assert early == NOTHING
        assert [a["id"] for a in kept["quiz_attempts"]] == [traces.attempt_id]
        assert late == {
            "quiz_attempts_deleted": 1,
            "community_threads_anonymised": 1,
            "community_replies_anonymised": 1,
        }
        assert held["quiz_attempts"] == []
        assert held["community_threads"] == held["community_replies"] == []
        assert (thread["title"], thread["body"]) == (REMOVED, REMOVED)
        assert thread["author_id"] != str(traces.person_id)
        assert [r["body"] for r in thread["replies"]] == ["Ask comms."]

    async def test_their_completion_stays(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        traces = await leave_traces(stack, scim)
        await scim_patch(scim, traces.person_id, {"active": False})
        await reconcile(stack)

        await retention_after(stack, 366)
        held = await held_about(stack, traces.person_id)

        assert [p["completed_at"] is not None for p in held["module_progress"]] == [True]

    async def test_the_leave_date_is_the_directorys_not_when_training_noticed(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        traces = await leave_traces(stack, scim)
        with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(days=200)):
            await scim_patch(scim, traces.person_id, {"active": False})
        await reconcile(stack)

        counts = await retention_after(stack, 170)

        assert counts["quiz_attempts_deleted"] == 1

    async def test_a_second_run_removes_nothing_more(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        traces = await leave_traces(stack, scim)
        await scim_patch(scim, traces.person_id, {"active": False})
        await reconcile(stack)

        await retention_after(stack, 366)
        again = await retention_after(stack, 367)

        assert again == NOTHING

    async def test_a_returner_keeps_their_data(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        traces = await leave_traces(stack, scim)
        await scim_patch(scim, traces.person_id, {"active": False})
        await reconcile(stack)
        await scim_patch(scim, traces.person_id, {"active": True})
        await reconcile(stack)

        counts = await retention_after(stack, 400)
        held = await held_about(stack, traces.person_id)

        assert counts == NOTHING
        assert [a["id"] for a in held["quiz_attempts"]] == [traces.attempt_id]

    async def test_someone_still_here_keeps_their_data(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        traces = await leave_traces(stack, scim)
        await reconcile(stack)

        counts = await retention_after(stack, 3 * 365)
        held = await held_about(stack, traces.person_id)

        assert counts == NOTHING
        assert [a["id"] for a in held["quiz_attempts"]] == [traces.attempt_id]

    async def test_what_it_removed_is_in_the_audit_as_counts(
        self, stack: StackHandle, scim: httpx.AsyncClient, officer: Person
    ) -> None:
        traces = await leave_traces(stack, scim)
        await scim_patch(scim, traces.person_id, {"active": False})
        await reconcile(stack)

        await retention_after(stack, 366)
        audit = await stack.as_user(officer).get(f"{API}/audit", params={"limit": 200})

        assert audit.status_code == 200, audit.text
        entries = [e for e in audit.json()["items"] if e["action"] == "retention.applied"]
        assert entries[-1]["detail"] == (
            "quiz_attempts_deleted=1, community_threads_anonymised=1, "
            "community_replies_anonymised=1"
        )
        assert entries[-1]["actor"] == "service:training"


class TestSettings:
    def test_the_data_of_leavers_is_kept_twelve_months_by_default(self) -> None:
        assert TrainingSettings().retention_left_days == 365

    def test_a_period_of_zero_days_is_refused(self) -> None:
        with pytest.raises(ValueError, match="retention_left_days"):
            TrainingSettings(retention_left_days=0)
