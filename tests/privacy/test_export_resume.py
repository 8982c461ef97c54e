"""An export cut short resumes, with the real apps: an unfinished export whose lease ended
is taken over by the privacy loop and gathers only the parts still missing; one another
gateway still holds is left alone. (tests/e2e/test_export_crash.py kills a real gateway.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.models import Person
from gateway.privacy.models import ExportStatus, PrivacyExport
from kit.db import utcnow
from tests.privacy.test_export import EXPORTS
from tests.support.stack import StackHandle

# What a gateway that died after the training part had recorded.
TRAINING_PART = {"gathered_before_the_crash": True}


async def cut_short(stack: StackHandle, person: Person, *, leased_for: float) -> PrivacyExport:
    export = PrivacyExport(
        person_id=person.id,
        requested_by="user:someone",
        parts_total=4,
        parts_done=2,
        status=ExportStatus.RUNNING,
        document={
            "person_id": str(person.id),
            "generated_at": utcnow().isoformat(),
            "directory": {"person": {"id": str(person.id)}},
            "training": TRAINING_PART,
        },
        leased_until=utcnow() + dt.timedelta(seconds=leased_for),
    )
    async with stack.stack.database("gateway").transaction() as session:
        session.add(export)
    return export


async def run_due(stack: StackHandle) -> None:
    await stack.stack.apps["gateway"].state.exporter.run_due()


async def read(stack: StackHandle, officer: Person, export: PrivacyExport) -> dict[str, Any]:
    response = await stack.as_user(officer).get(f"{EXPORTS}/{export.id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestResume:
    async def test_an_export_whose_lease_ended_is_finished_from_the_missing_parts(
        self, stack: StackHandle, officer: Person
    ) -> None:
        person = await stack.person()
        export = await cut_short(stack, person, leased_for=-1)

        await run_due(stack)
        finished = await read(stack, officer, export)
        document = (await stack.as_user(officer).get(finished["download_url"])).json()

        assert (finished["status"], finished["parts_done"]) == ("ready", 4)
        assert document["training"] == TRAINING_PART
        assert set(document["coaching"]) >= {"engagements", "sessions"}
        assert document["incidents"] == {"incidents_about_them": [], "incidents_they_reported": []}

    async def test_one_another_gateway_still_holds_is_left_alone(
        self, stack: StackHandle, officer: Person
    ) -> None:
        export = await cut_short(stack, await stack.person(), leased_for=60)

        await run_due(stack)
        still = await read(stack, officer, export)

        assert (still["status"], still["parts_done"], still["download_url"]) == (
            "running",
            2,
            None,
        )

    async def test_a_failed_export_keeps_none_of_its_parts(
        self, stack: StackHandle, officer: Person
    ) -> None:
        export = await cut_short(stack, await stack.person(), leased_for=-1)

        with stack.upstream_down("coaching"):
            await run_due(stack)
        failed = await read(stack, officer, export)
        async with stack.stack.database("gateway").transaction(write=False) as session:
            stored = await session.get(PrivacyExport, export.id)

        assert failed["status"] == "failed"
        assert "coaching" in failed["error"]
        assert stored is not None
        assert stored.document is None
