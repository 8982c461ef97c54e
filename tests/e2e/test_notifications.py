"""Notifications on the real processes: a report's decision reaches its owner and its
contacts without anyone polling a page."""

from __future__ import annotations

import email.message
import uuid
from typing import Any

import httpx
import pytest

from gateway.events.mailcatcher import MailCatcher
from kit.demo import demo_person_id
from tests.support.polling import eventually
from tests.support.processes import RunningStack

pytestmark = pytest.mark.e2e

HR_MAIL = "hannah.hr@northwind.example"
MANAGER_MAIL = "marc.manager@northwind.example"


def readable(message: email.message.EmailMessage) -> str:
    """The headers and every part, decoded."""
    parts = [str(part.get_content()) for part in message.walk() if not part.is_multipart()]
    return str(message.items()) + "".join(parts)


def as_user(stack: RunningStack, user_name: str) -> httpx.AsyncClient:
    token = stack.command("gateway", "token", "--user", user_name)
    return httpx.AsyncClient(
        base_url=stack.url("gateway"), headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


async def about(client: httpx.AsyncClient, incident_id: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/me/notifications", params={"limit": 200})
    assert response.status_code == 200, response.text
    return [n for n in response.json()["items"] if n["link"].endswith(incident_id)]


async def test_a_reported_incident_reaches_its_owner_and_contacts_inboxes_and_mail(
    running_processes: RunningStack, e2e_mail: MailCatcher
) -> None:
    async with (
        as_user(running_processes, "ethan.lead") as reporter,
        as_user(running_processes, "hannah.hr") as hr,
        as_user(running_processes, "marc.manager") as manager,
        as_user(running_processes, "emma.employee") as employee,
    ):
        reported = await reporter.post(
            "/api/v1/incidents",
            json={
                "person_id": str(demo_person_id("emma.employee")),
                "channel": "x",
                "links": [f"https://x.com/post/{uuid.uuid4().hex}"],
                "occurred_at": "2026-11-30T09:00:00+00:00",
                "category": "harassment_or_hate",
                "description": "Insulted a customer in a reply.",
                "severity": "high",
            },
        )
        assert reported.status_code == 201, reported.text
        incident_id = reported.json()["id"]

        async def both_told() -> bool:
            return bool(await about(hr, incident_id)) and bool(await about(manager, incident_id))

        await eventually(both_told, what="the owner's and the manager's notifications")
        [owned] = await about(hr, incident_id)
        [contacted] = await about(manager, incident_id)
        assert await about(employee, incident_id) == []

    assert owned["kind"] == contacted["kind"] == "incident.decided"
    assert "Insulted" not in owned["body"] + contacted["body"]
    assert "Ethan" not in owned["body"] + contacted["body"]

    def mailed(address: str) -> list[email.message.EmailMessage]:
        return [m for m in e2e_mail.to(address) if incident_id in readable(m)]

    await eventually(
        lambda: bool(mailed(HR_MAIL)) and bool(mailed(MANAGER_MAIL)), what="both e-mails"
    )
    [to_hr] = mailed(HR_MAIL)
    [to_manager] = mailed(MANAGER_MAIL)
    assert to_hr["Subject"] == owned["subject"]
    assert to_manager["Subject"] == contacted["subject"]
    for message in (to_hr, to_manager):
        assert "Insulted" not in readable(message)
        assert "Ethan" not in readable(message)
