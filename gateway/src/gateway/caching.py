"""A short-lived per-process cache whose concurrent misses share one load.

The gateway keeps each caller's active flag and roles, and each API client's key, for a
few seconds. When such an entry expired under load, every request of that caller in
flight missed at once and each ran the same queries: on the proxy benchmark (16
connections, one person) that was a 10-17 ms stall of the gateway every 5 s, and it was
what pushed p99 over 10 ms. Here the first miss starts the load and the others wait for
it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedLoadCache(Generic[K, V]):
    """``await get(key)``: the cached value, or ``load(key)``'s result, kept ``ttl`` seconds.

    ``None`` (nothing found) is returned but not kept, so a record created a moment later
    is seen at once. A load is a task of its own: a caller that is cancelled while waiting
    does not cancel it for the others. :meth:`forget` drops the value and discards any load
    in flight, whose result may predate the change that asked to forget."""

    def __init__(self, load: Callable[[K], Awaitable[V | None]], *, ttl: float) -> None:
        self.ttl = ttl
        self._load = load
        self._values: dict[K, tuple[V, float]] = {}
        self._loads: dict[K, asyncio.Task[V | None]] = {}

    async def get(self, key: K) -> V | None:
        cached = self._values.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        load = self._loads.get(key)
        if load is None:
            load = asyncio.ensure_future(self._load_and_keep(key))
            self._loads[key] = load
            load.add_done_callback(lambda done: self._load_done(key, done))
        return await asyncio.shield(load)

    def forget(self, key: K) -> None:
        self._values.pop(key, None)
        self._loads.pop(key, None)

    async def _load_and_keep(self, key: K) -> V | None:
        started = time.monotonic()
        value = await self._load(key)
        # Forgotten meanwhile: the caller that asked gets this answer, nobody else does.
        if value is not None and self._loads.get(key) is asyncio.current_task():
            self._values[key] = (value, started + self.ttl)
        return value

    def _load_done(self, key: K, load: asyncio.Task[V | None]) -> None:
        if self._loads.get(key) is load:
            del self._loads[key]
        if not load.cancelled():
            load.exception()  # retrieved here too: every waiter may have been cancelled
