"""Directory events: what SCIM changes reaches the webhooks subscribed to it, once."""

from __future__ import annotations

import httpx

from gateway.models import Person
from tests.events.conftest import subscribe, webhook_sender
from tests.support.stack import StackHandle
from tests.support.webhooks import WebhookReceiver

TYPES = ("directory.person.created", "directory.person.updated", "directory.person.deactivated")
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def scim_client(stack: StackHandle, admin: Person) -> httpx.AsyncClient:
    response = await stack.as_user(admin).post(
        "/api/v1/admin/api-clients", json={"name": "HRIS", "scopes": ["scim"]}
    )
    assert response.status_code == 201, response.text
    return stack.client(headers={"Authorization": f"Bearer {response.json()['secret']}"})


async def test_provisioning_changing_and_deactivating_a_person_reach_the_webhook(
    stack: StackHandle, admin: Person, receiver: WebhookReceiver
) -> None:
    await subscribe(stack, admin, receiver, event_types=TYPES)
    scim = await scim_client(stack, admin)

    created = await scim.post(
        "/scim/v2/Users",
        json={"schemas": [USER], "userName": "zoe.new", "externalId": "hris-zoe", "active": True},
    )
    person_id = created.json()["id"]
    await scim.patch(
        f"/scim/v2/Users/{person_id}",
        json={"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"title": "Lead"}}]},
    )
    await scim.patch(
        f"/scim/v2/Users/{person_id}",
        json={"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    await webhook_sender(stack).send_all_due()

    assert created.status_code == 201, created.text
    by_type = {r.body["type"]: r.body for r in receiver.accepted()}
    assert sorted(by_type) == sorted(TYPES)
    assert len(receiver.accepted()) == 3
    assert {body["data"]["person_id"] for body in by_type.values()} == {person_id}
    assert by_type["directory.person.deactivated"]["data"]["active"] is False
    assert all(r.body["source"] == "gateway" for r in receiver.accepted())
