"""What the services ask through the gateway: each service's calls, recorded while a test
runs a flow, so it can say who asked the directory (issue 16: a decision's hops)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

from tests.support.stack import StackHandle

SERVICES = ("training", "coaching", "incidents")
PERSON_LOOKUP = "/api/v1/directory/people/"


@dataclass(frozen=True, slots=True)
class Call:
    app: str
    method: str
    path: str


@dataclass
class Calls:
    made: list[Call] = field(default_factory=list)

    def person_lookups(self, app: str) -> int:
        """How many times ``app`` read one person from the directory."""
        return sum(c.app == app and c.path.startswith(PERSON_LOOKUP) for c in self.made)


class _Recording(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, app: str, calls: Calls) -> None:
        self.inner = inner
        self.app = app
        self.calls = calls

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.made.append(Call(self.app, request.method, request.url.path))
        return await self.inner.handle_async_request(request)


@contextlib.contextmanager
def calls_through_gateway(stack: StackHandle) -> Iterator[Calls]:
    """Every call a service makes through the gateway within the block."""
    calls = Calls()
    clients: dict[str, httpx.AsyncClient] = {
        app: stack.stack.apps[app].state.gateway for app in SERVICES
    }
    originals = {app: client._transport for app, client in clients.items()}
    for app, client in clients.items():
        client._transport = _Recording(originals[app], app, calls)
    try:
        yield calls
    finally:
        for app, client in clients.items():
            client._transport = originals[app]
