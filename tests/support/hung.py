"""A service that hangs: a loopback socket that accepts connections, reads the request and
never answers, behind a real gateway upstream (``gateway.relay.HttpUpstream``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from gateway.relay import HttpUpstream


@contextlib.asynccontextmanager
async def hung_upstream(name: str, *, read_timeout: float) -> AsyncIterator[HttpUpstream]:
    release = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await release.wait()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    upstream = HttpUpstream(
        name,
        f"http://127.0.0.1:{port}",
        connect_timeout=1.0,
        read_timeout=read_timeout,
        pool_size=16,
    )
    await upstream.start()
    try:
        yield upstream
    finally:
        release.set()
        await upstream.close()
        server.close()
