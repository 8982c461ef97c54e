"""A real HTTP/1.1 server on a loopback socket whose answers each test scripts (the gateway's
relay and kit's client transport are tested against it)."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httptools


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Writer = asyncio.StreamWriter
Handler = Callable[[Request, Writer], Awaitable[bool]]  # returns: keep the connection open


@dataclass
class _Parsed:
    requests: list[Request] = field(default_factory=list)
    url: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    parser: Any = None

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode().lower()] = value.decode()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        method = self.parser.get_method().decode()
        self.requests.append(Request(method, self.url.decode(), self.headers, bytes(self.body)))
        self.url, self.headers, self.body = b"", {}, bytearray()


class ScriptedServer:
    """An HTTP/1.1 server answering each request with ``handler``; counts connections, and
    those the client closed."""

    def __init__(self, handler: Handler, *, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.connections = 0
        self.closed_by_client = 0
        self.received: list[Request] = []
        # What each read from a socket brought, in order (how the bytes arrived).
        self.reads: list[bytes] = []
        self.writers: list[Writer] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        self.connections += 1
        self.writers.append(writer)
        parsed = _Parsed()
        parsed.parser = httptools.HttpRequestParser(parsed)
        while data := await reader.read(65536):
            self.reads.append(data)
            parsed.parser.feed_data(data)
            while parsed.requests:
                request = parsed.requests.pop(0)
                self.received.append(request)
                if not await self.handler(request, writer):
                    writer.close()
                    return
        self.closed_by_client += 1


def answer(status: int, body: bytes, *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"content-length: {len(body)}", *headers, "", ""]
    return "\r\n".join(lines).encode() + body


async def json_answer(request: Request, writer: Writer) -> bool:
    body = json.dumps({"path": request.path, "body": request.body.decode()}).encode()
    writer.write(answer(200, body, "content-type: application/json", "x-kept: yes"))
    return True
