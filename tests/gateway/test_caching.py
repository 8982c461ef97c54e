"""The gateway's per-process cache of callers: expired entries are loaded once, not once
per request in flight."""

from __future__ import annotations

import asyncio

import pytest

from gateway.caching import SharedLoadCache


class Loads:
    """A loader that counts its calls and can be held open until released."""

    def __init__(self, value: str | None = "value") -> None:
        self.value = value
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()
        self.error: Exception | None = None

    async def __call__(self, key: str) -> str | None:
        self.calls += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return None if self.value is None else f"{self.value}:{key}"


async def test_concurrent_misses_share_one_load() -> None:
    loads = Loads()
    loads.release.clear()
    cache = SharedLoadCache(loads, ttl=60)

    waiting = [asyncio.ensure_future(cache.get("emma")) for _ in range(16)]
    await asyncio.sleep(0)
    loads.release.set()

    assert await asyncio.gather(*waiting) == ["value:emma"] * 16
    assert loads.calls == 1


async def test_a_value_is_kept_for_its_ttl_then_loaded_again() -> None:
    loads = Loads()
    cache = SharedLoadCache(loads, ttl=0.05)

    await cache.get("emma")
    await cache.get("emma")
    assert loads.calls == 1

    await asyncio.sleep(0.06)
    await cache.get("emma")
    assert loads.calls == 2


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_entry_in_use_is_reloaded_in_the_background_before_it_expires() -> None:
    loads = Loads()
    clock = Clock()
    cache = SharedLoadCache(loads, ttl=5, clock=clock)
    await cache.get("emma")

    clock.now += 4.5  # past 80 % of the ttl
    loads.release.clear()  # the reload waits until released
    loads.value = "newer"
    assert await cache.get("emma") == "value:emma"  # served at once
    await asyncio.sleep(0)
    assert loads.calls == 2  # and reloaded beside it
    loads.release.set()
    await asyncio.sleep(0)

    clock.now += 1  # past the first value's expiry
    assert await cache.get("emma") == "newer:emma"
    assert loads.calls == 2


async def test_without_refresh_ahead_an_entry_is_served_until_it_expires_then_loaded() -> None:
    loads = Loads()
    clock = Clock()
    cache = SharedLoadCache(loads, ttl=5, refresh_ahead=False, clock=clock)
    await cache.get("emma")
    loads.value = "newer"

    clock.now += 4.5  # past 80 % of the ttl: no load beside the request
    assert await cache.get("emma") == "value:emma"
    await asyncio.sleep(0)
    assert loads.calls == 1

    clock.now += 1  # expired: the caller loads it
    assert await cache.get("emma") == "newer:emma"
    assert loads.calls == 2


async def test_a_reload_that_finds_nothing_drops_the_entry() -> None:
    loads = Loads()
    clock = Clock()
    cache = SharedLoadCache(loads, ttl=5, clock=clock)
    await cache.get("emma")

    clock.now += 4.5
    loads.value = None  # deleted meanwhile
    await cache.get("emma")
    await asyncio.sleep(0)

    assert await cache.get("emma") is None


async def test_nothing_found_is_not_kept() -> None:
    loads = Loads(value=None)
    cache = SharedLoadCache(loads, ttl=60)

    assert await cache.get("new.hire") is None
    assert await cache.get("new.hire") is None
    assert loads.calls == 2


async def test_forget_drops_the_value_and_a_load_in_flight() -> None:
    loads = Loads()
    cache = SharedLoadCache(loads, ttl=60)
    await cache.get("emma")

    loads.release.clear()
    cache.forget("emma")
    in_flight = asyncio.ensure_future(cache.get("emma"))
    await asyncio.sleep(0)
    cache.forget("emma")  # e.g. a deactivation committed while the load read the old row
    loads.release.set()
    await in_flight

    await cache.get("emma")
    assert loads.calls == 3


async def test_a_cancelled_waiter_does_not_cancel_the_load_for_the_others() -> None:
    loads = Loads()
    loads.release.clear()
    cache = SharedLoadCache(loads, ttl=60)
    first = asyncio.ensure_future(cache.get("emma"))
    second = asyncio.ensure_future(cache.get("emma"))
    await asyncio.sleep(0)

    first.cancel()
    loads.release.set()

    assert await second == "value:emma"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert loads.calls == 1


async def test_a_failed_load_reaches_every_waiter_and_the_next_get_tries_again() -> None:
    loads = Loads()
    loads.release.clear()
    loads.error = ConnectionError("database unreachable")
    cache = SharedLoadCache(loads, ttl=60)
    waiting = [asyncio.ensure_future(cache.get("emma")) for _ in range(3)]
    await asyncio.sleep(0)
    loads.release.set()

    outcomes = await asyncio.gather(*waiting, return_exceptions=True)

    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    loads.error = None
    assert await cache.get("emma") == "value:emma"
    assert loads.calls == 2
