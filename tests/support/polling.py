"""Waiting for something that happens in the background: poll with a deadline, never a
bare sleep."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

POLL_SECONDS = 0.02


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]], *, what: str, seconds: float = 10.0
) -> None:
    """Return as soon as ``condition()`` holds; fail after ``seconds`` naming ``what``."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still waiting after {seconds} s for {what}")
        await asyncio.sleep(POLL_SECONDS)
