"""Notes and incident texts encrypted at rest, with the real apps: unreadable in the raw
database, readable through the API, and still readable after a key rotation (re-wrapped,
the old key gone)."""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from coaching.db import Base as CoachingBase
from incidents.db import Base as IncidentsBase
from kit.crypto import (
    DEV_ENCRYPTION_KEY,
    DEV_ENCRYPTION_KEY_ID,
    Keyring,
    install,
    keyring_of,
    rotate,
)
from tests.coaching.test_sessions import NOTE, Coaching, held_session
from tests.incidents.conftest import Org, as_hr, report
from tests.support.stack import StackHandle

__all__ = ["held_session"]

DESCRIPTION = "Posted the unreleased Q3 revenue figures with a photo of the slide."
TIMELINE_NOTE = "Spoke to Emma's manager; she took the post down within the hour."


async def raw(stack: StackHandle, app: str, sql: str, **params: Any) -> list[Any]:
    """What the database itself holds, past the ORM and its column types."""
    async with stack.stack.database(app).transaction(write=False) as session:
        return list((await session.execute(text(sql), params)).scalars().all())


@contextlib.contextmanager
def keyring(app: str, ring: Keyring) -> Iterator[None]:
    original = keyring_of(app)
    install(app, ring)
    try:
        yield
    finally:
        install(app, original)


def new_key() -> bytes:
    return os.urandom(32)


class TestAtRest:
    async def test_session_notes_are_unreadable_in_the_database_and_readable_through_the_api(
        self, stack: StackHandle, held_session: Coaching
    ) -> None:
        (stored,) = await raw(stack, "coaching", "SELECT notes FROM coaching_sessions")
        read = await stack.as_user(held_session.coachee).get(
            f"/api/v1/coaching/engagements/{held_session.engagement['id']}/sessions"
        )

        assert stored.startswith("enc1:")
        assert "screenshot" not in stored
        assert read.json()["items"][0]["notes"] == NOTE

    async def test_an_incidents_description_and_timeline_are_unreadable_in_the_database(
        self, stack: StackHandle, org: Org
    ) -> None:
        incident = await report(stack, org.reporter, org.employee, description=DESCRIPTION)
        noted = await stack.as_user(org.hr).post(
            f"/api/v1/incidents/{incident['id']}/timeline", json={"text": TIMELINE_NOTE}
        )
        assert noted.status_code == 201, noted.text

        descriptions = await raw(stack, "incidents", "SELECT description FROM incidents")
        summaries = await raw(stack, "incidents", "SELECT summary FROM timeline_entries")
        data = await raw(stack, "incidents", "SELECT data FROM timeline_entries")
        detail = await as_hr(stack, org, incident["id"])
        timeline = await stack.as_user(org.hr).get(f"/api/v1/incidents/{incident['id']}/timeline")

        stored = descriptions + summaries + data
        assert stored
        assert all(value.startswith("enc1:") for value in stored)
        assert not any("unreleased" in value or "took the post" in value for value in stored)
        assert detail["description"] == DESCRIPTION
        assert TIMELINE_NOTE in [e["summary"] for e in timeline.json()["items"]]


class TestRotation:
    async def test_rotation_rewraps_every_value_and_the_old_key_can_go(
        self, stack: StackHandle, org: Org
    ) -> None:
        incident = await report(stack, org.reporter, org.employee, description=DESCRIPTION)
        old = keyring_of("incidents")
        fresh = new_key()
        database = stack.stack.database("incidents")

        with keyring(
            "incidents", Keyring({old.active: _key_of(old), "2027-01": fresh}, active="2027-01")
        ):
            result = await rotate(database, IncidentsBase.metadata)
        descriptions = await raw(stack, "incidents", "SELECT description FROM incidents")
        with keyring("incidents", Keyring({"2027-01": fresh}, active="2027-01")):
            detail = await as_hr(stack, org, incident["id"])

        assert result.rewrapped == result.checked > 0
        assert all(value.startswith("enc1:2027-01:") for value in descriptions)
        assert detail["description"] == DESCRIPTION

    async def test_rotation_encrypts_text_stored_before_encryption(
        self, stack: StackHandle, held_session: Coaching
    ) -> None:
        database = stack.stack.database("coaching")
        async with database.transaction() as session:
            await session.execute(text("UPDATE coaching_sessions SET notes = 'an old plain note'"))

        result = await rotate(database, CoachingBase.metadata)
        (stored,) = await raw(stack, "coaching", "SELECT notes FROM coaching_sessions")
        read = await stack.as_user(held_session.coach).get(
            f"/api/v1/coaching/engagements/{held_session.engagement['id']}/sessions"
        )

        assert result.rewrapped == 1
        assert stored.startswith("enc1:")
        assert read.json()["items"][0]["notes"] == "an old plain note"


def _key_of(ring: Keyring) -> bytes:
    """The development key the test stack runs with (the ring keeps only cipher objects)."""
    assert ring.active == DEV_ENCRYPTION_KEY_ID
    return base64.b64decode(DEV_ENCRYPTION_KEY)


class TestStartUp:
    @pytest.mark.parametrize("app", ["coaching", "incidents"])
    def test_production_without_a_key_does_not_start_and_says_why(self, app: str) -> None:
        prefix = app.upper()
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith(prefix)
        }
        environment.update(
            {
                f"{prefix}_ENVIRONMENT": "production",
                f"{prefix}_INTERNAL_TOKEN_SECRET": "a-real-secret-" + "x" * 40,
                f"{prefix}_PORT": "1",
            }
        )

        started = subprocess.run(
            [sys.executable, "-m", app, "serve"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

        assert started.returncode != 0
        assert f"{prefix}_ENCRYPTION_KEYS must hold the key" in started.stderr
