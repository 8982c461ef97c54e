"""Webhooks for integrators: subscriptions managed by admins, Standard Webhooks signatures
a receiver verifies with the ``standardwebhooks`` package, retries through an outage,
410 and long failure disabling the endpoint, secret rotation, replay, slow receivers."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import time_machine

from gateway.config import GatewaySettings
from gateway.models import Person
from tests.events.conftest import drain, subscribe, webhook_sender
from tests.incidents.conftest import Org, report
from tests.support.stack import StackHandle
from tests.support.webhooks import WebhookReceiver

WEBHOOKS = "/api/v1/admin/webhooks"


@contextmanager
def gateway_settings(stack: StackHandle, **changes: Any) -> Iterator[None]:
    app = stack.stack.apps["gateway"]
    original: GatewaySettings = app.state.settings
    app.state.settings = original.model_copy(update=changes)
    try:
        yield
    finally:
        app.state.settings = original


def later(**delta: float) -> time_machine.travel:
    return time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(**delta))


async def deliveries(stack: StackHandle, admin: Person, webhook_id: str) -> list[dict[str, Any]]:
    response = await stack.as_user(admin).get(f"{WEBHOOKS}/{webhook_id}/deliveries")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestSubscribing:
    async def test_the_secret_is_shown_once(
        self, stack: StackHandle, admin: Person, receiver: WebhookReceiver
    ) -> None:
        created = await subscribe(stack, admin, receiver)

        read = await stack.as_user(admin).get(f"{WEBHOOKS}/{created['id']}")
        listed = await stack.as_user(admin).get(WEBHOOKS)

        assert created["secret"].startswith("whsec_")
        assert "secret" not in read.json()
        assert all("secret" not in item for item in listed.json()["items"])
        assert read.json()["event_types"] == ["incident.decided", "incident.reported"]

    async def test_only_admins_manage_subscriptions(
        self, stack: StackHandle, org: Org, receiver: WebhookReceiver
    ) -> None:
        response = await stack.as_user(org.hr).post(
            WEBHOOKS, json={"url": receiver.url, "event_types": ["incident.decided"]}
        )

        assert response.status_code == 403

    @pytest.mark.parametrize(
        ("url", "settings", "says"),
        [
            ("http://hooks.example.com/in", {"webhook_allow_http": False}, "https://"),
            ("https://127.0.0.1:9/in", {"webhook_allow_private_addresses": False}, "internal"),
            ("https://10.1.2.3/in", {"webhook_allow_private_addresses": False}, "internal"),
            ("https://no-such-host.invalid/in", {}, "cannot be resolved"),
            ("ftp://hooks.example.com/in", {}, "https://"),
            ("https://user:pw@hooks.example.com/in", {}, "credentials"),
        ],
    )
    async def test_a_url_that_cannot_receive_webhooks_is_a_422_saying_why(
        self, stack: StackHandle, admin: Person, url: str, settings: dict[str, Any], says: str
    ) -> None:
        with gateway_settings(stack, environment="test", **settings):
            response = await stack.as_user(admin).post(
                WEBHOOKS, json={"url": url, "event_types": ["incident.decided"]}
            )

        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        [error] = response.json()["errors"]
        assert error["pointer"] == "#/url"
        assert says in error["detail"]

    async def test_an_unreachable_url_is_a_422(self, stack: StackHandle, admin: Person) -> None:
        nobody = WebhookReceiver()  # a free port, never started

        response = await stack.as_user(admin).post(
            WEBHOOKS, json={"url": nobody.url, "event_types": ["incident.decided"]}
        )

        assert response.status_code == 422
        assert "Nothing answers" in response.json()["errors"][0]["detail"]

    async def test_an_unknown_event_type_is_a_422_listing_the_known_ones(
        self, stack: StackHandle, admin: Person, receiver: WebhookReceiver
    ) -> None:
        response = await stack.as_user(admin).post(
            WEBHOOKS, json={"url": receiver.url, "event_types": ["incident.decided", "nope"]}
        )

        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["pointer"] == "#/event_types/1"
        assert "incident.reported" in error["detail"]


class TestDelivering:
    async def test_each_event_arrives_once_signed_and_without_the_reporter(
        self, stack: StackHandle, org: Org, admin: Person, receiver: WebhookReceiver
    ) -> None:
        await subscribe(stack, admin, receiver)
        incident = await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)

        delivered = await webhook_sender(stack).send_all_due()

        assert delivered == 2
        accepted = receiver.accepted()
        assert sorted(r.body["type"] for r in accepted) == ["incident.decided", "incident.reported"]
        assert all(r.body["data"]["incident_id"] == incident["id"] for r in accepted)
        assert all(r.webhook_id == r.body["id"] for r in accepted)
        for received in accepted:
            raw = str(received.body)
            assert str(org.reporter.id) not in raw
            assert "reporter" not in raw
            assert "Q3 revenue" not in raw  # the description

    async def test_handed_over_by_the_intake_they_leave_as_a_replay_sends_them(
        self, stack: StackHandle, org: Org, admin: Person, receiver: WebhookReceiver
    ) -> None:
        webhook = await subscribe(stack, admin, receiver, event_types=["incident.decided"])
        sender = webhook_sender(stack)
        with sender.handover.active():  # its loop runs here: handed the intake's deliveries
            await report(stack, org.reporter, org.employee, severity="high")
            await drain(stack)
            await stack.stack.apps["gateway"].state.senders.send_handed()  # the woken loop
        [delivery] = await deliveries(stack, admin, webhook["id"])
        replayed = await stack.as_user(admin).post(
            f"{WEBHOOKS}/{webhook['id']}/deliveries/{delivery['id']}/replay"
        )
        await sender.send_all_due()  # claimed from the table, read from it

        assert replayed.status_code == 202
        assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)
        first, again = receiver.accepted()
        assert first.body == again.body
        assert first.webhook_id == again.webhook_id == delivery["event_id"]

    async def test_only_the_subscribed_types_are_sent(
        self, stack: StackHandle, org: Org, admin: Person, receiver: WebhookReceiver
    ) -> None:
        await subscribe(stack, admin, receiver, event_types=["incident.closed"])
        await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)

        assert await webhook_sender(stack).send_all_due() == 0
        assert receiver.received == []

    async def test_an_outage_of_the_receiver_delays_events_and_loses_none(
        self, stack: StackHandle, org: Org, admin: Person, receiver: WebhookReceiver
    ) -> None:
        webhook = await subscribe(stack, admin, receiver)
        receiver.status = 503
        await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)
        sender = webhook_sender(stack)

        assert await sender.send_all_due() == 0
        failed = await deliveries(stack, admin, webhook["id"])
        receiver.status = 204
        assert await sender.send_all_due() == 0  # backing off
        with later(seconds=11):
            assert await sender.send_all_due() == 2
        with later(hours=2):
            assert await sender.send_all_due() == 0

        assert {(d["status"], d["attempts"], d["last_status_code"]) for d in failed} == {
            ("pending", 1, 503)
        }
        assert len(receiver.accepted_ids()) == len(set(receiver.accepted_ids())) == 2
        after = await deliveries(stack, admin, webhook["id"])
        assert {(d["status"], d["attempts"]) for d in after} == {("delivered", 2)}

    async def test_a_slow_receiver_holds_a_delivery_no_longer_than_the_timeout(
        self, stack: StackHandle, org: Org, admin: Person, receiver: WebhookReceiver
    ) -> None:
        webhook = await subscribe(stack, admin, receiver, event_types=["incident.decided"])
        receiver.delay_seconds = 30
        sender = webhook_sender(stack)
        await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)
        sender.timeout, original = 0.5, sender.timeout
        try:
            started = time.monotonic()
            assert await sender.send_due() == 0
            took = time.monotonic() - started
        finally:
            sender.timeout = original

        assert took < 5
        [delivery] = await deliveries(stack, admin, webhook["id"])
        assert delivery["status"] == "pending"
        assert "Timeout" in delivery["last_error"]


class TestGivingUp:
    async def test_a_410_disables_the_endpoint_and_tells_the_admins(
        self, stack: StackHandle, org: Org, admin: Person, receiver: WebhookReceiver
    ) -> None:
        webhook = await subscribe(stack, admin, receiver, event_types=["incident.decided"])
        receiver.status = 410
        await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)

        await webhook_sender(stack).send_all_due()
        await report(stack, org.reporter, org.outsider, severity="high")
        await drain(stack)
        await webhook_sender(stack).send_all_due()

        read = (await stack.as_user(admin).get(f"{WEBHOOKS}/{webhook['id']}")).json()
        assert read["enabled"] is False
        assert "410" in read["disabled_reason"]
        assert len(receiver.received) == 1  # nothing more after the 410
        inbox = (await stack.as_user(admin).get("/api/v1/me/notifications")).json()["items"]
        assert [n["kind"] for n in inbox] == ["webhook.endpoint.disabled"]
        assert receiver.url in inbox[0]["subject"]

    async def test_enabling_again_sends_what_waited(
        self, stack: StackHandle, org: Org, admin: Person, receiver: WebhookReceiver
    ) -> None:
        webhook = await subscribe(stack, admin, receiver, event_types=["incident.decided"])
        client = stack.as_user(admin)
        await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)
        await client.patch(f"{WEBHOOKS}/{webhook['id']}", json={"enabled": False})
        assert await webhook_sender(stack).send_all_due() == 0

        enabled = await client.patch(f"{WEBHOOKS}/{webhook['id']}", json={"enabled": True})

        assert enabled.json()["enabled"] is True
        assert await webhook_sender(stack).send_all_due() == 1
        assert len(receiver.accepted()) == 1

    async def test_an_endpoint_failing_for_three_days_is_disabled(
        self, stack: StackHandle, org: Org, admin: Person, receiver: WebhookReceiver
    ) -> None:
        webhook = await subscribe(stack, admin, receiver, event_types=["incident.decided"])
        receiver.status = 500
        await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)
        sender = webhook_sender(stack)
        await sender.send_all_due()
        with later(hours=25):
            await sender.send_all_due()
            still = (await stack.as_user(admin).get(f"{WEBHOOKS}/{webhook['id']}")).json()
        with later(hours=73):
            await sender.send_all_due()
            read = (await stack.as_user(admin).get(f"{WEBHOOKS}/{webhook['id']}")).json()
            inbox = (await stack.as_user(admin).get("/api/v1/me/notifications")).json()

        assert still["enabled"] is True
        assert still["failing_since"] is not None
        assert read["enabled"] is False
        assert "failed since" in read["disabled_reason"]
        assert [n["kind"] for n in inbox["items"]] == ["webhook.endpoint.disabled"]


class TestSecrets:
    async def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new(
        self, stack: StackHandle, org: Org, admin: Person, receiver: WebhookReceiver
    ) -> None:
        webhook = await subscribe(stack, admin, receiver, event_types=["incident.decided"])
        old = webhook["secret"]
        rotated = await stack.as_user(admin).post(
            f"{WEBHOOKS}/{webhook['id']}/rotate-secret", json={"grace_hours": 24}
        )
        new = rotated.json()["secret"]
        receiver.secrets = [new, old]
        await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)
        await webhook_sender(stack).send_all_due()
        await report(stack, org.reporter, org.outsider, severity="high")
        await drain(stack)
        with later(hours=25):
            await webhook_sender(stack).send_all_due()

        during, after = receiver.received
        assert rotated.status_code == 200
        assert new != old
        assert sorted(during.verified_by) == sorted([new, old])
        assert after.verified_by == [new]

    async def test_a_replay_sends_the_same_webhook_id_again(
        self, stack: StackHandle, org: Org, admin: Person, receiver: WebhookReceiver
    ) -> None:
        webhook = await subscribe(stack, admin, receiver, event_types=["incident.decided"])
        await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)
        await webhook_sender(stack).send_all_due()
        [delivery] = await deliveries(stack, admin, webhook["id"])

        replayed = await stack.as_user(admin).post(
            f"{WEBHOOKS}/{webhook['id']}/deliveries/{delivery['id']}/replay"
        )
        await webhook_sender(stack).send_all_due()

        assert replayed.status_code == 202
        first, again = receiver.accepted()
        assert first.webhook_id == again.webhook_id == delivery["event_id"]
