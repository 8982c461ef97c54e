"""What this machine allows, measured beside our gateway by ``bench.proxy_overhead``.

    python -m bench.floor forwarder LISTEN_PORT UPSTREAM_PORT
    python -m bench.floor empty PORT

``forwarder`` is a proxy that does no work at all: each client connection gets its own
upstream connection and the bytes are copied both ways as they come, with uvloop, the loop
the gateway uses. What it adds to a request is what the extra process and the extra
loopback hop cost on this machine, before any HTTP is parsed.

``empty`` serves one FastAPI route that returns a constant small document, with uvicorn as
our apps are served (uvloop, httptools, one process, the same garbage collector tuning).
Its latency under load is what any FastAPI service allows on this machine before it reads
a database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import cast

import uvicorn
import uvloop
from fastapi import FastAPI

from kit.runtime import tune_gc


class _UpstreamSide(asyncio.Protocol):
    def __init__(self, client: asyncio.Transport) -> None:
        self.client = client

    def data_received(self, data: bytes) -> None:
        self.client.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.close()


class _ClientSide(asyncio.Protocol):
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.upstream: asyncio.Transport | None = None
        self.early: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is not a subclass
        asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        upstream, _ = await asyncio.get_running_loop().create_connection(
            lambda: _UpstreamSide(self.transport), "127.0.0.1", self.upstream_port
        )
        self.upstream = upstream
        for data in self.early:
            upstream.write(data)

    def data_received(self, data: bytes) -> None:
        if self.upstream is None:
            self.early.append(data)
        else:
            self.upstream.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upstream is not None:
            self.upstream.close()


async def forward(listen_port: int, upstream_port: int) -> None:
    server = await asyncio.get_running_loop().create_server(
        lambda: _ClientSide(upstream_port), "127.0.0.1", listen_port
    )
    async with server:
        await server.serve_forever()


@contextlib.asynccontextmanager
async def _tuned(app: FastAPI) -> AsyncIterator[None]:
    tune_gc(True)  # as our apps do after start-up
    yield


empty_app = FastAPI(lifespan=_tuned)


@empty_app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@empty_app.get("/{path:path}")
async def constant(path: str) -> dict[str, object]:
    return {"id": "00000000-0000-0000-0000-000000000001", "capacity": 5, "open": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    forwarder = sub.add_parser("forwarder")
    forwarder.add_argument("listen_port", type=int)
    forwarder.add_argument("upstream_port", type=int)
    sub.add_parser("empty").add_argument("port", type=int)
    args = parser.parse_args()
    if args.what == "forwarder":
        uvloop.run(forward(args.listen_port, args.upstream_port))
    else:
        uvicorn.run(
            empty_app,
            port=args.port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
            server_header=False,
        )


if __name__ == "__main__":
    main()
