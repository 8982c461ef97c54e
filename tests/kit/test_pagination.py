"""Keyset pagination: stable pages, even while rows are inserted between calls."""

from __future__ import annotations

import base64
import datetime as dt

import httpx
import pytest
import time_machine

from tests.kit.conftest import Notes

START = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def encode_raw(payload: str) -> str:
    """A cursor holding ``payload`` as it stands, as a forger would make one."""
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


async def create(client: httpx.AsyncClient, title: str, at: dt.datetime) -> None:
    with time_machine.travel(at, tick=False):
        response = await client.post("/api/v1/notes", json={"title": title})
    assert response.status_code == 201


async def all_pages(client: httpx.AsyncClient, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/api/v1/notes", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([note["title"] for note in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


class TestPagination:
    async def test_pages_cover_every_row_once_in_order(self, notes: Notes) -> None:
        client = notes.client()
        for i in range(7):
            await create(client, f"n{i}", START + dt.timedelta(minutes=i))

        pages = await all_pages(client, limit=3)

        assert pages == [["n0", "n1", "n2"], ["n3", "n4", "n5"], ["n6"]]

    async def test_rows_inserted_between_calls_neither_repeat_nor_shift_a_page(
        self, notes: Notes
    ) -> None:
        client = notes.client()
        for i in range(4):
            await create(client, f"n{i}", START + dt.timedelta(minutes=i))
        first = (await client.get("/api/v1/notes", params={"limit": 2})).json()
        # One row lands before the cursor, one after it.
        await create(client, "early", START - dt.timedelta(minutes=5))
        await create(client, "late", START + dt.timedelta(minutes=10))

        rest = (
            await client.get("/api/v1/notes", params={"limit": 10, "cursor": first["next_cursor"]})
        ).json()

        assert [n["title"] for n in first["items"]] == ["n0", "n1"]
        assert [n["title"] for n in rest["items"]] == ["n2", "n3", "late"]
        assert rest["next_cursor"] is None

    async def test_rows_with_the_same_timestamp_are_split_by_id(self, notes: Notes) -> None:
        client = notes.client()
        for i in range(5):
            await create(client, f"same{i}", START)

        pages = await all_pages(client, limit=2)

        titles = [title for page in pages for title in page]
        assert sorted(titles) == [f"same{i}" for i in range(5)]
        assert len(pages) == 3

    async def test_default_page_is_fifty(self, notes: Notes) -> None:
        client = notes.client()
        for i in range(51):
            await create(client, f"n{i:02}", START + dt.timedelta(seconds=i))

        body = (await client.get("/api/v1/notes")).json()

        assert len(body["items"]) == 50
        assert body["next_cursor"] is not None

    async def test_a_tampered_cursor_is_a_400(self, notes: Notes) -> None:
        response = await notes.client().get("/api/v1/notes", params={"cursor": "not-a-cursor"})

        assert response.status_code == 400
        assert "cursor" in response.json()["detail"]

    @pytest.mark.parametrize(
        "payload",
        [
            '["2026-01-01T12:00:00", "6f1c2a4e-4f0b-4c7e-9a59-0d0f0b7f9d11"]',  # naive
            '["0001-01-01T00:00:00+01:00", "6f1c2a4e-4f0b-4c7e-9a59-0d0f0b7f9d11"]',
            "[" * 600 + "]" * 600,  # deep nesting: a RecursionError in the decoder
            '["2026-01-01T12:00:00+00:00", 123]',  # a number where the id goes
            '["2026-01-01T12:00:00+00:00", "not-a-uuid"]',
            "[" + str(2**80) + ", 1]",
            '{"a": 1}',
            "[1, 2, 3]",
            '"\u0000"',
        ],
    )
    async def test_a_forged_cursor_is_a_400_naming_the_parameter(
        self, notes: Notes, payload: str
    ) -> None:
        response = await notes.client().get("/api/v1/notes", params={"cursor": encode_raw(payload)})

        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"] == [
            {"detail": response.json()["errors"][0]["detail"], "parameter": "cursor"}
        ]

    async def test_an_overlong_cursor_is_a_400(self, notes: Notes) -> None:
        response = await notes.client().get("/api/v1/notes", params={"cursor": "A" * 5000})

        assert response.status_code == 400
        assert "longer than" in response.json()["detail"]

    async def test_limit_over_the_maximum_is_refused(self, notes: Notes) -> None:
        response = await notes.client().get("/api/v1/notes", params={"limit": 201})

        assert response.status_code == 422
