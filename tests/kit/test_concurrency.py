"""ETag out, If-Match in: no update is silently lost."""

from __future__ import annotations

import asyncio

from tests.kit.conftest import Notes


async def new_note(notes: Notes) -> tuple[str, str]:
    response = await notes.client().post("/api/v1/notes", json={"title": "draft"})
    note_id = response.json()["id"]
    etag = (await notes.client().get(f"/api/v1/notes/{note_id}")).headers["etag"]
    return note_id, etag


class TestIfMatch:
    async def test_update_with_the_current_etag_succeeds_and_returns_a_new_one(
        self, notes: Notes
    ) -> None:
        note_id, etag = await new_note(notes)

        response = await notes.client(headers={"If-Match": etag}).patch(
            f"/api/v1/notes/{note_id}", json={"title": "final"}
        )

        assert response.status_code == 200
        assert response.headers["etag"] != etag
        assert response.json()["title"] == "final"

    async def test_a_stale_etag_is_a_412(self, notes: Notes) -> None:
        note_id, etag = await new_note(notes)
        await notes.client(headers={"If-Match": etag}).patch(
            f"/api/v1/notes/{note_id}", json={"title": "first edit"}
        )

        response = await notes.client(headers={"If-Match": etag}).patch(
            f"/api/v1/notes/{note_id}", json={"title": "lost edit"}
        )

        assert response.status_code == 412
        assert response.json()["current_etag"] == '"2"'
        current = await notes.client().get(f"/api/v1/notes/{note_id}")
        assert current.json()["title"] == "first edit"

    async def test_a_missing_if_match_is_a_428(self, notes: Notes) -> None:
        note_id, _ = await new_note(notes)

        response = await notes.client().patch(f"/api/v1/notes/{note_id}", json={"title": "x"})

        assert response.status_code == 428


class TestRacingUpdates:
    async def test_only_one_of_two_updates_with_the_same_etag_wins(
        self, committed_notes: Notes
    ) -> None:
        note_id, etag = await new_note(committed_notes)
        client = committed_notes.client(headers={"If-Match": etag})

        responses = await asyncio.gather(
            *(client.patch(f"/api/v1/notes/{note_id}", json={"title": f"t{i}"}) for i in range(2))
        )

        assert sorted(r.status_code for r in responses) == [200, 412]
