"""Idempotency-Key on creating POSTs (DESIGN §4)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest
import time_machine
from starlette.types import Message, Receive, Scope, Send

from kit.db import Database
from kit.idempotency import (
    IN_FLIGHT_LEASE,
    ClaimOutcome,
    HeldKey,
    IdempotencyStore,
    KeyTakenOver,
    StoredResponse,
)
from tests.kit.conftest import SUBJECT, Notes, fingerprint_of


async def count_notes(notes: Notes) -> int:
    body = (await notes.client().get("/api/v1/notes", params={"limit": 200})).json()
    return len(body["items"])


class TestReplay:
    async def test_a_replay_returns_the_first_response_and_creates_nothing(
        self, notes: Notes
    ) -> None:
        client = notes.client(headers={"Idempotency-Key": "k-1"})

        first = await client.post("/api/v1/notes", json={"title": "once"})
        second = await client.post("/api/v1/notes", json={"title": "once"})

        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert await count_notes(notes) == 1

    async def test_the_same_key_with_a_different_body_is_a_422(self, notes: Notes) -> None:
        client = notes.client(headers={"Idempotency-Key": "k-2"})
        await client.post("/api/v1/notes", json={"title": "one"})

        response = await client.post("/api/v1/notes", json={"title": "two"})

        assert response.status_code == 422
        assert "different request" in response.json()["detail"]
        assert await count_notes(notes) == 1

    async def test_keys_are_scoped_per_principal(self, notes: Notes) -> None:
        alice = notes.client(subject="alice", headers={"Idempotency-Key": "shared"})
        bob = notes.client(subject="bob", headers={"Idempotency-Key": "shared"})

        first = await alice.post("/api/v1/notes", json={"title": "a"})
        second = await bob.post("/api/v1/notes", json={"title": "a"})

        assert first.json()["id"] != second.json()["id"]
        assert await count_notes(notes) == 2

    async def test_a_failed_request_releases_its_key(self, notes: Notes) -> None:
        client = notes.client(headers={"Idempotency-Key": "k-3"})

        bad = await client.post("/api/v1/notes", json={"title": ""})
        good = await client.post("/api/v1/notes", json={"title": "fixed"})

        assert bad.status_code == 422
        assert good.status_code == 201
        assert "idempotent-replayed" not in good.headers

    async def test_keys_expire_after_24_hours(self, notes: Notes) -> None:
        client = notes.client(headers={"Idempotency-Key": "k-4"})
        now = dt.datetime.now(dt.UTC)
        with time_machine.travel(now, tick=False):
            first = await client.post("/api/v1/notes", json={"title": "old"})
        with time_machine.travel(now + dt.timedelta(hours=24, minutes=1), tick=False):
            again = await client.post("/api/v1/notes", json={"title": "old"})

        assert again.status_code == 201
        assert again.json()["id"] != first.json()["id"]

    async def test_an_oversized_key_is_a_400(self, notes: Notes) -> None:
        client = notes.client(headers={"Idempotency-Key": "k" * 256})

        response = await client.post("/api/v1/notes", json={"title": "x"})

        assert response.status_code == 400


class TestConcurrentDuplicate:
    async def test_is_a_409_while_the_first_is_running(self, committed_notes: Notes) -> None:
        gate, entered = asyncio.Event(), asyncio.Event()
        committed_notes.app.state.gate = gate
        committed_notes.app.state.entered = entered
        client = committed_notes.client(headers={"Idempotency-Key": "race"})

        first = asyncio.create_task(client.post("/api/v1/notes", json={"title": "r"}))
        await asyncio.wait_for(entered.wait(), timeout=5)
        duplicate = await client.post("/api/v1/notes", json={"title": "r"})
        gate.set()
        first_response = await first

        assert duplicate.status_code == 409
        assert duplicate.headers["retry-after"] == "1"
        assert first_response.status_code == 201
        committed_notes.app.state.gate = None
        replay = await client.post("/api/v1/notes", json={"title": "r"})
        assert replay.json() == first_response.json()


class _DiesBeforeAnswering:
    """The app as a process killed after its work committed: the response never leaves."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def lost(message: Message) -> None:
            raise ConnectionResetError("the process died before answering")

        await self.app(scope, receive, lost)


class TestExactlyOnceAcrossACrash:
    async def test_a_retry_after_a_crash_after_the_commit_replays_the_original_answer(
        self, committed_notes: Notes
    ) -> None:
        dying = httpx.AsyncClient(
            transport=httpx.ASGITransport(_DiesBeforeAnswering(committed_notes.app)),
            base_url="http://notes",
            headers={"Idempotency-Key": "crash-1"},
            auth=committed_notes.client().auth,
        )
        with pytest.raises(ConnectionResetError):
            await dying.post("/api/v1/notes", json={"title": "once"})
        await dying.aclose()

        retry = await committed_notes.client(headers={"Idempotency-Key": "crash-1"}).post(
            "/api/v1/notes", json={"title": "once"}
        )

        assert retry.status_code == 201
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.json()["title"] == "once"
        assert await count_notes(committed_notes) == 1

    async def test_a_claim_left_by_a_dead_process_is_taken_over_after_its_lease(
        self, committed_notes: Notes
    ) -> None:
        store: IdempotencyStore = committed_notes.app.state.idempotency
        client = committed_notes.client(headers={"Idempotency-Key": "crash-2"})
        first = await client.post("/api/v1/notes", json={"title": "n"})
        assert first.status_code == 201
        now = dt.datetime.now(dt.UTC)
        # A request with a new key claims it, then its process dies before committing.
        request = httpx.Request("POST", "http://notes/api/v1/notes", json={"title": "dead"})
        dead = await store.claim(
            principal=f"user:{SUBJECT}",
            key="crash-3",
            fingerprint=fingerprint_of(request),
        )
        assert dead.outcome is ClaimOutcome.CLAIMED
        retrying = committed_notes.client(headers={"Idempotency-Key": "crash-3"})

        meanwhile = await retrying.post("/api/v1/notes", json={"title": "dead"})
        with time_machine.travel(now + IN_FLIGHT_LEASE + dt.timedelta(seconds=1), tick=False):
            after_lease = await retrying.post("/api/v1/notes", json={"title": "dead"})

        assert meanwhile.status_code == 409
        assert after_lease.status_code == 201
        assert await count_notes(committed_notes) == 2

    async def test_a_request_whose_claim_was_taken_over_cannot_seal_its_work(
        self, committed_notes: Notes
    ) -> None:
        store: IdempotencyStore = committed_notes.app.state.idempotency
        now = dt.datetime.now(dt.UTC)
        slow = await store.claim(principal="user:slow", key="k", fingerprint="f")
        with time_machine.travel(now + IN_FLIGHT_LEASE + dt.timedelta(seconds=1), tick=False):
            retry = await store.claim(principal="user:slow", key="k", fingerprint="f")
        assert slow.token is not None
        assert retry.token is not None
        held_by_slow = HeldKey(store, principal="user:slow", key="k", token=slow.token)

        database: Database = committed_notes.app.state.database
        with pytest.raises(KeyTakenOver):
            async with database.transaction() as session:
                await store.seal(session, held=held_by_slow, response=StoredResponse(201, [], b""))
        held_by_retry = HeldKey(store, principal="user:slow", key="k", token=retry.token)
        async with database.transaction() as session:
            await store.seal(session, held=held_by_retry, response=StoredResponse(201, [], b"{}"))

        replay = await store.claim(principal="user:slow", key="k", fingerprint="f")
        assert replay.outcome is ClaimOutcome.REPLAY
        assert replay.stored is not None
        assert replay.stored.body == b"{}"

    async def test_a_failed_request_keeps_neither_its_work_nor_its_key(
        self, committed_notes: Notes
    ) -> None:
        client = committed_notes.client(headers={"Idempotency-Key": "fails"})

        failed = await client.post("/api/v1/notes/fail-after-write", json={"title": "gone"})
        again = await client.post("/api/v1/notes/fail-after-write", json={"title": "gone"})

        assert failed.status_code == again.status_code == 409
        assert "idempotent-replayed" not in again.headers
        assert await count_notes(committed_notes) == 0
