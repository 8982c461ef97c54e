"""X-Request-ID is accepted or generated, returned, and in every problem body."""

from __future__ import annotations

import re
import uuid

from kit.identity import PrincipalKind
from tests.kit.conftest import SIGNER, Notes


class TestRequestId:
    async def test_a_given_id_is_echoed(self, notes: Notes) -> None:
        response = await notes.client(headers={"X-Request-ID": "abc-123"}).get("/api/v1/notes")

        assert response.headers["x-request-id"] == "abc-123"

    async def test_an_id_is_generated_when_absent(self, notes: Notes) -> None:
        # A plain bearer token: the test client's signer would pass the last id on.
        token = SIGNER.sign(audience="notes", subject=str(uuid.uuid4()), kind=PrincipalKind.USER)
        client = notes.client(token=token)
        first, second = await client.get("/api/v1/notes"), await client.get("/api/v1/notes")

        assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
        assert first.headers["x-request-id"] != second.headers["x-request-id"]

    async def test_an_unsafe_id_is_replaced(self, notes: Notes) -> None:
        response = await notes.client(headers={"X-Request-ID": "bad id\twith spaces"}).get(
            "/api/v1/notes"
        )

        assert response.headers["x-request-id"] != "bad id\twith spaces"
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])

    async def test_problem_bodies_carry_it(self, notes: Notes) -> None:
        response = await notes.client(headers={"X-Request-ID": "trace-me"}).get("/api/v1/nope")

        assert response.json()["request_id"] == "trace-me"
