"""A circuit breaker per upstream and a token bucket per principal.

Both are plain objects over a clock (no I/O), so they are cheap on the proxied path and
testable without waiting. State is per gateway process: a breaker protects the upstream
from this process's traffic, and rate limits bound each principal per process (with N
gateway replicas, a principal gets at most N times the configured rate).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from gateway.metrics import BREAKER_STATE

Clock = Callable[[], float]


class BreakerState(IntEnum):
    # The values are the BREAKER_STATE gauge's.
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class BreakerOpen(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"circuit open, retry after {retry_after:.1f} s")
        self.retry_after = retry_after


class CircuitBreaker:
    """Closed: calls go through; ``failure_threshold`` failures in a row open it. Open:
    calls fail at once until ``reset_seconds`` have passed. Half-open: one trial call goes
    through; its success closes the breaker, its failure opens it again."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int,
        reset_seconds: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self.clock = clock
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self._trial_running = False
        self._gauge = BREAKER_STATE.labels(name)
        self._gauge.set(BreakerState.CLOSED)

    def before_call(self) -> None:
        """Raises :class:`BreakerOpen` when the call must not go through."""
        if self.state is BreakerState.CLOSED:
            return
        remaining = self.opened_at + self.reset_seconds - self.clock()
        if self.state is BreakerState.OPEN and remaining <= 0:
            self._move(BreakerState.HALF_OPEN)
        if self.state is BreakerState.HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return
        raise BreakerOpen(max(remaining, 1.0))

    def record_success(self) -> None:
        self.failures = 0
        self._trial_running = False
        if self.state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED)

    def record_failure(self) -> None:
        self.failures += 1
        self._trial_running = False
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.failure_threshold:
            self.opened_at = self.clock()
            self._move(BreakerState.OPEN)

    def abandon(self) -> None:
        """A call ended without telling anything about the upstream."""
        self._trial_running = False

    def _move(self, state: BreakerState) -> None:
        self.state = state
        self._gauge.set(state)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key: ``burst`` requests at once, refilled at ``rate`` per second."""

    # Buckets idle long enough to be full again carry no information; past this many
    # keys they are dropped, so memory stays bounded.
    MAX_KEYS = 10_000

    def __init__(self, *, rate: float, burst: int, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def acquire(self, key: str) -> float | None:
        """Takes a token; returns ``None`` if allowed, else the seconds until one is free."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.MAX_KEYS:
                self._drop_full(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate

    def wait(self, key: str) -> float | None:
        """Like :meth:`acquire` without taking a token: ``None`` while one is free."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return None
        tokens = min(self.burst, bucket.tokens + (self.clock() - bucket.updated) * self.rate)
        return None if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def _drop_full(self, now: float) -> None:
        full_after = self.burst / self.rate
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if now - bucket.updated < full_after
        }


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` takes whole seconds; round up so a client that obeys succeeds."""
    return str(max(1, math.ceil(seconds)))
