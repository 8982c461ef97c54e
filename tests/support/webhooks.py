"""A webhook receiver for the tests: a real HTTP server on a free loopback port that
verifies every delivery's Standard Webhooks signature with the ``standardwebhooks``
package, records it, and answers what the test says (a 503 outage, a 410, slowly)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.requests import Request
from starlette.responses import Response

from tests.support.processes import free_port


@dataclass
class Received:
    webhook_id: str
    body: dict[str, Any]
    headers: dict[str, str]
    # Which of the receiver's secrets verify the signature (empty: none did).
    verified_by: list[str]
    answered: int
    at: float
    # Wall-clock arrival (seconds since the epoch), to compare with the event's timestamp.
    wall: float = 0.0


@dataclass
class WebhookReceiver:
    secrets: list[str] = field(default_factory=list)
    status: int = 204
    delay_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def accepted(self) -> list[Received]:
        """Deliveries answered with a 2xx and a valid signature."""
        return [r for r in self.received if 200 <= r.answered < 300 and r.verified_by]

    def accepted_ids(self) -> list[str]:
        return [r.webhook_id for r in self.accepted()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        body = (await request.body()).decode()
        headers = dict(request.headers)
        verified = []
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified.append(secret)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        status = self.status if verified or not self.secrets else 401
        self.received.append(
            Received(
                webhook_id=headers.get("webhook-id", ""),
                body=json.loads(body),
                headers=headers,
                verified_by=verified,
                answered=status,
                at=time.monotonic(),
                wall=time.time(),
            )
        )
        await Response(status_code=status)(scope, receive, send)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[WebhookReceiver]:
        server = uvicorn.Server(
            uvicorn.Config(
                self, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning"
            )
        )
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        try:
            yield self
        finally:
            server.should_exit = True
            await task
