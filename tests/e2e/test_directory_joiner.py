"""A joiner provisioned through SCIM gets the assignment rules' modules within seconds: the
gateway tells training once the change has committed, without waiting for training's
periodic reconciliation (every hour by default). Real processes, the seeded demo (its
Sales rule assigns "When someone asks you about Northwind")."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from kit.demo import demo_person_id
from tests.support.processes import RunningStack

pytestmark = pytest.mark.e2e

API = "/api/v1"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
RULE_MODULE = "When someone asks you about Northwind"
# Far below the reconciliation's period (3600 s): only the gateway's hint can explain it.
WITHIN_SECONDS = 60.0


@pytest.fixture(scope="module")
def tokens(running_processes: RunningStack) -> dict[str, str]:
    out = running_processes.command(
        "gateway", "token", "--user", "grace.admin", "--user", "olivia.owner"
    )
    return dict(line.split() for line in out.splitlines())


async def rule_assignees(client: httpx.AsyncClient, owner: str) -> set[str]:
    headers = {"Authorization": f"Bearer {owner}"}
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "100"} | ({"cursor": cursor} if cursor else {})
        body = (
            await client.get(f"{API}/training/assignments", params=params, headers=headers)
        ).json()
        items += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            break
    return {
        a["person_id"] for a in items if a["module_title"] == RULE_MODULE and not a["closed_at"]
    }


async def eventually(condition: Any, what: str, seconds: float = WITHIN_SECONDS) -> float:
    started = asyncio.get_running_loop().time()
    while not await condition():
        if asyncio.get_running_loop().time() - started > seconds:
            raise TimeoutError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.25)
    return asyncio.get_running_loop().time() - started


class TestAJoinerThroughScim:
    async def test_gets_the_rules_module_without_waiting_for_the_periodic_pass(
        self, running_processes: RunningStack, tokens: dict[str, str]
    ) -> None:
        admin, owner = tokens["grace.admin"], tokens["olivia.owner"]
        marc = str(demo_person_id("marc.manager"))
        async with httpx.AsyncClient(
            base_url=running_processes.url("gateway"), timeout=30
        ) as client:
            # Training's first reconciliation at start (Marc, the seed's joiner) is done:
            # the next periodic one is an hour away.
            await eventually(
                lambda: _has(client, owner, marc), "the start's reconciliation", seconds=180
            )
            created = await client.post(
                f"{API}/admin/api-clients",
                json={"name": "HRIS", "scopes": ["scim"]},
                headers={"Authorization": f"Bearer {admin}"},
            )
            assert created.status_code == 201, created.text
            scim = {"Authorization": f"Bearer {created.json()['secret']}"}
            user_name = f"zoe.{uuid.uuid4().hex[:6]}@northwind.example"
            joined = await client.post(
                "/scim/v2/Users",
                headers=scim,
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                    "userName": user_name,
                    "externalId": f"00u{uuid.uuid4().hex[:12]}",
                    "name": {"givenName": "Zoe", "familyName": "Adams"},
                    "emails": [{"primary": True, "value": user_name, "type": "work"}],
                    "active": True,
                    ENTERPRISE: {"department": "Sales"},
                },
            )
            assert joined.status_code == 201, joined.text
            zoe = joined.json()["id"]

            took = await eventually(lambda: _has(client, owner, zoe), "Zoe's assignment")

        assert took < WITHIN_SECONDS


async def _has(client: httpx.AsyncClient, owner: str, person_id: str) -> bool:
    return person_id in await rule_assignees(client, owner)
