"""Fixtures for the events tests: the incidents organisation, and helpers to hand the
services' events to the gateway the way their drainers' background loops would."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.incidents.conftest import Org, fresh_coaching_breaker, make_org, seed_policy
from tests.support.stack import StackHandle


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
