"""A short-lived per-process cache whose concurrent misses share one load.

The gateway keeps each caller's active flag and roles, and each API client's key, for a
few seconds. When such an entry expired under load, every request of that caller in
flight missed at once and each ran the same queries: on the proxy benchmark (16
connections, one person) that stalled the gateway for about 10 ms every 5 s, one of the
things that pushed p99 over 10 ms. Here the first miss starts the load and the others
wait for it, and an entry still in use is reloaded in the background shortly before it
expires, so the requests of an active caller do not wait for a load at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# An entry older than this share of its ttl is reloaded in the background on its next use.
REFRESH_AFTER = 0.8


class SharedLoadCache(Generic[K, V]):
    """``await get(key)``: the cached value, or ``load(key)``'s result, kept ``ttl`` seconds
    (a value is never older than that; one used after ``REFRESH_AFTER`` of it is reloaded in
    the background while it is still served, unless ``refresh_ahead`` is off: then it is
    served until it expires and the next caller loads it).

    ``None`` (nothing found) is returned but not kept, so a record created a moment later
    is seen at once. A load is a task of its own: a caller that is cancelled while waiting
    does not cancel it for the others. :meth:`forget` drops the value and discards any load
    in flight, whose result may predate the change that asked to forget."""

    def __init__(
        self,
        load: Callable[[K], Awaitable[V | None]],
        *,
        ttl: float,
        refresh_ahead: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.refresh_ahead = refresh_ahead
        self._load = load
        self._clock = clock
        # key -> (value, when to reload it in the background, when it expires)
        self._values: dict[K, tuple[V, float, float]] = {}
        self._loads: dict[K, asyncio.Task[V | None]] = {}

    async def get(self, key: K) -> V | None:
        now = self._clock()
        cached = self._values.get(key)
        if cached is not None and now < cached[2]:
            if self.refresh_ahead and now >= cached[1] and key not in self._loads:
                self._start_load(key)  # not awaited: this caller gets the cached value
            return cached[0]
        load = self._loads.get(key) or self._start_load(key)
        return await asyncio.shield(load)

    def forget(self, key: K) -> None:
        self._values.pop(key, None)
        self._loads.pop(key, None)

    def _start_load(self, key: K) -> asyncio.Task[V | None]:
        load = asyncio.ensure_future(self._load_and_keep(key))
        self._loads[key] = load
        load.add_done_callback(lambda done: self._load_done(key, done))
        return load

    async def _load_and_keep(self, key: K) -> V | None:
        started = self._clock()
        value = await self._load(key)
        if self._loads.get(key) is not asyncio.current_task():
            return value  # forgotten meanwhile: the callers that asked get it, nobody else
        if value is None:
            self._values.pop(key, None)  # gone since it was cached
        else:
            self._values[key] = (
                value,
                started + self.ttl * REFRESH_AFTER,
                started + self.ttl,
            )
        return value

    def _load_done(self, key: K, load: asyncio.Task[V | None]) -> None:
        if self._loads.get(key) is load:
            del self._loads[key]
        if not load.cancelled():
            load.exception()  # retrieved here too: every waiter may have been cancelled
