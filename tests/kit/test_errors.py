"""Every error is RFC 9457 problem+json, with a message a person can act on."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from tests.kit.conftest import Notes

PROBLEM = "application/problem+json"


class TestUnknownRoute:
    async def test_is_a_404_problem_naming_the_path(self, notes: Notes) -> None:
        response = await notes.client().get("/api/v1/nothing-here")

        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert body["status"] == 404
        assert body["title"] == "Not Found"
        assert "/api/v1/nothing-here" in body["detail"]
        assert body["instance"] == "/api/v1/nothing-here"


class TestWrongMethod:
    async def test_is_a_405_problem_listing_allowed_methods(self, notes: Notes) -> None:
        response = await notes.client().delete("/api/v1/notes")

        assert response.status_code == 405
        assert response.headers["content-type"] == PROBLEM
        assert "GET" in response.headers["allow"]
        assert "DELETE" in response.json()["detail"]


class TestValidation:
    async def test_lists_each_bad_field_with_a_pointer(self, notes: Notes) -> None:
        response = await notes.client().post("/api/v1/notes", json={"title": "", "pages": 0})

        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        pointers = {error["pointer"] for error in body["errors"]}
        assert pointers == {"#/title", "#/pages"}
        assert all(error["detail"] for error in body["errors"])

    async def test_bad_query_parameter_names_the_parameter(self, notes: Notes) -> None:
        response = await notes.client().get("/api/v1/notes", params={"limit": 1000})

        assert response.status_code == 422
        (error,) = response.json()["errors"]
        assert error["parameter"] == "limit"
        assert "200" in error["detail"]

    async def test_unknown_field_is_refused(self, notes: Notes) -> None:
        response = await notes.client().post("/api/v1/notes", json={"title": "a", "colour": "red"})

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/colour"


class TestMalformedJson:
    async def test_is_a_400_problem(self, notes: Notes) -> None:
        response = await notes.client().post(
            "/api/v1/notes", content=b'{"title": ', headers={"content-type": "application/json"}
        )

        assert response.status_code == 400
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["title"] == "Malformed JSON"


class TestBodyTooLarge:
    async def test_declared_length_over_the_limit_is_a_413(self, notes: Notes) -> None:
        response = await notes.client().post("/api/v1/notes", json={"title": "x" * 5000})

        assert response.status_code == 413
        assert response.headers["content-type"] == PROBLEM
        assert "2048 bytes" in response.json()["detail"]

    async def test_streamed_body_over_the_limit_is_a_413(self, notes: Notes) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b'{"title": "' + b"x" * 500

        response = await notes.client().post(
            "/api/v1/notes", content=chunks(), headers={"content-type": "application/json"}
        )

        assert response.status_code == 413
        assert response.headers["content-type"] == PROBLEM


class TestUnhandledError:
    async def test_is_a_500_with_the_request_id_and_no_internals(
        self, notes: Notes, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.ERROR):
            response = await notes.client(headers={"X-Request-ID": "req-boom-1"}).get(
                "/api/v1/notes/boom"
            )

        assert response.status_code == 500
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert body["request_id"] == "req-boom-1"
        assert "secret internal detail" not in response.text
        assert "Traceback" not in response.text
        assert "secret internal detail" in caplog.text  # but the operator sees it


class TestDomainError:
    async def test_rolls_back_what_the_request_wrote(self, notes: Notes) -> None:
        client = notes.client()

        response = await client.post("/api/v1/notes/fail-after-write", json={"title": "ghost"})

        assert response.status_code == 409
        assert response.json()["detail"] == "Failed after writing."
        listed = await client.get("/api/v1/notes")
        assert [note["title"] for note in listed.json()["items"]] == []
