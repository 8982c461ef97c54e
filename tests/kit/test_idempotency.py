"""Idempotency-Key on creating POSTs (DESIGN §4)."""

from __future__ import annotations

import asyncio
import datetime as dt

import time_machine

from tests.kit.conftest import Notes


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
