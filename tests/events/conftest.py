"""Fixtures for the events tests: the incidents organisation, and helpers to hand the
services' events to the gateway the way their drainers' background loops would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest

from gateway.events.mail import Mailer
from gateway.events.mailcatcher import MailCatcher
from gateway.models import Person
from gateway.webhooks.delivery import WebhookSender
from tests.incidents.conftest import Org, fresh_coaching_breaker, make_org, seed_policy
from tests.support.stack import StackHandle
from tests.support.webhooks import WebhookReceiver


@pytest.fixture
async def org(stack: StackHandle) -> AsyncIterator[Org]:
    await seed_policy(stack)
    with fresh_coaching_breaker(stack):
        yield await make_org(stack)


async def drain(stack: StackHandle, *apps: str) -> int:
    """Hand every waiting event of ``apps`` (all services by default) to the gateway."""
    delivered = 0
    for app in apps or ("training", "coaching", "incidents"):
        delivered += await stack.stack.apps[app].state.outbox_drainer.drain()
    return delivered


@pytest.fixture(scope="session")
def mail_catcher() -> Iterator[MailCatcher]:
    """A real SMTP server on a free port, for the whole run."""
    with MailCatcher() as catcher:
        yield catcher


@pytest.fixture
def mail(stack: StackHandle, mail_catcher: MailCatcher) -> Iterator[MailCatcher]:
    """The gateway's e-mail sender pointed at the catcher (emptied for the test)."""
    mailer: Mailer = stack.stack.apps["gateway"].state.mailer
    original = mailer.settings
    mailer.settings = original.model_copy(
        update={"smtp_host": mail_catcher.host, "smtp_port": mail_catcher.port}
    )
    mail_catcher.messages.clear()
    try:
        yield mail_catcher
    finally:
        mailer.settings = original


def mailer(stack: StackHandle) -> Mailer:
    found: Mailer = stack.stack.apps["gateway"].state.mailer
    return found


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver().running() as running:
        yield running


@pytest.fixture
async def admin(stack: StackHandle) -> Person:
    return await stack.person(department="IT", roles=["admin"])


async def subscribe(
    stack: StackHandle,
    admin: Person,
    receiver: WebhookReceiver,
    event_types: Sequence[str] = ("incident.reported", "incident.decided"),
) -> dict[str, Any]:
    """An admin subscribes the receiver; it verifies with the secret shown once."""
    response = await stack.as_user(admin).post(
        "/api/v1/admin/webhooks", json={"url": receiver.url, "event_types": list(event_types)}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    receiver.secrets.append(body["secret"])
    return body


def webhook_sender(stack: StackHandle) -> WebhookSender:
    found: WebhookSender = stack.stack.apps["gateway"].state.webhook_sender
    return found
