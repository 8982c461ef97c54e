"""An in-process app served over real HTTP on a loopback port, in the test's event loop, for
checkers that run as their own client (schemathesis, scim2-tester)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from tests.support.polling import eventually
from tests.support.processes import free_port


@asynccontextmanager
async def serve(gateway: FastAPI) -> AsyncIterator[str]:
    """The gateway without rate limits: a checker is one fast client, and its requests
    without a token must not close the door on the rest."""
    limits = (gateway.state.rate_limiter, gateway.state.anonymous_limiter)
    gateway.state.rate_limiter = gateway.state.anonymous_limiter = None
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(gateway, host="127.0.0.1", port=port, lifespan="off", log_level="error")
    )
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started, what="the server to listen", seconds=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        gateway.state.rate_limiter, gateway.state.anonymous_limiter = limits
