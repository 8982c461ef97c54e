"""Incidents keeps the directory's answers a few seconds (``INCIDENTS_DIRECTORY_CACHE_SECONDS``,
issue 16): a busy minute's decisions ask the gateway once for the holders of a role, not once
each. The in-process stack runs without it (its tests change the directory between
decisions); these turn it on for the incidents app's own client to the gateway."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest

from incidents.decision import upstream
from tests.support.stack import StackHandle


@pytest.fixture
def gateway(stack: StackHandle) -> Iterator[httpx.AsyncClient]:
    client: httpx.AsyncClient = stack.stack.apps["incidents"].state.gateway
    yield client
    upstream.cache_directory(client, seconds=0)


class TestDirectoryCache:
    async def test_a_role_s_holders_are_kept_until_the_cache_expires(
        self, stack: StackHandle, gateway: httpx.AsyncClient
    ) -> None:
        upstream.cache_directory(gateway, seconds=0.5)
        before = {p.id for p in await upstream.people_with_role(gateway, "legal")}
        newcomer = await stack.person(roles=["legal"])

        kept = {p.id for p in await upstream.people_with_role(gateway, "legal")}
        await asyncio.sleep(0.6)
        fresh = {p.id for p in await upstream.people_with_role(gateway, "legal")}

        assert kept == before
        assert newcomer.id not in kept
        assert fresh == before | {newcomer.id}

    async def test_a_person_is_kept_but_not_their_absence(
        self, stack: StackHandle, gateway: httpx.AsyncClient
    ) -> None:
        upstream.cache_directory(gateway, seconds=60)
        manager = await stack.person()
        person = await stack.person(manager=manager)
        assert await upstream.find_person(gateway, uuid.uuid4()) is None

        first = await upstream.find_person(gateway, person.id)
        async with stack.stack.database("gateway").transaction() as session:
            await session.delete(await session.merge(person))
        second = await upstream.find_person(gateway, person.id)

        assert first is not None
        assert first.manager_id == manager.id
        assert second == first

    async def test_without_a_cache_every_question_goes_to_the_directory(
        self, stack: StackHandle, gateway: httpx.AsyncClient
    ) -> None:
        upstream.cache_directory(gateway, seconds=0)
        before = {p.id for p in await upstream.people_with_role(gateway, "legal")}
        newcomer = await stack.person(roles=["legal"])

        after = {p.id for p in await upstream.people_with_role(gateway, "legal")}

        assert after == before | {newcomer.id}

    def test_the_cache_stays_bounded(self) -> None:
        cache = upstream.DirectoryCache(60, max_entries=3)
        for n in range(10):
            cache.put(("person", str(n)), n)

        assert sum(cache.get(("person", str(n))) is not None for n in range(10)) <= 3
        assert cache.get(("person", "9")) == 9
