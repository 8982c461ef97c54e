"""The gateway's e-mail and webhook senders in one background loop.

The intake hands a transaction's e-mails and webhook deliveries to this process's
senders once it has committed (``kit.jobs.Handover``) and wakes the loop. A round sends
both at once (the SMTP batch and the webhook posts concurrently) and records both
outcomes in one transaction: at the decision load each round carries a few of each, and
a transaction of its own for each was a third of what a round cost. Each sender still
looks at its own table (other replicas' rows, a crashed process's, retries) when its
own time comes, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from gateway.events import mail
from gateway.events.mail import Mailer
from gateway.webhooks import delivery
from gateway.webhooks.delivery import WebhookSender
from kit.db import Database
from kit.jobs import Loop


class Senders:
    """E-mail and webhooks of one gateway process, sent and recorded together."""

    def __init__(
        self,
        database: Database,
        mailer: Mailer,
        webhooks: WebhookSender,
        *,
        poll_seconds: float,
        linger_seconds: float,
    ) -> None:
        self.database = database
        self.mailer = mailer
        self.webhooks = webhooks
        self.loop = Loop(
            "gateway-senders",
            self._round,
            poll_seconds=poll_seconds,
            linger_seconds=linger_seconds,
        )
        webhooks.wake = self.loop.wake  # an admin enabled an endpoint or replayed one

    @contextlib.asynccontextmanager
    async def running(self, *, enabled: bool = True) -> AsyncIterator[None]:
        """Send in the background for the duration of the block (the app's lifespan)."""
        try:
            async with self.loop.running(
                enabled=enabled, handovers=[self.mailer.handover, self.webhooks.handover]
            ):
                yield
        finally:
            await self.mailer.close()

    async def send_handed(self) -> int:
        """Send what this process's intake handed over, batch after batch, each batch's
        e-mails and webhooks recorded in one transaction; how many went out."""
        total = 0
        while True:
            messages = self.mailer.handover.take(mail.BATCH_SIZE)
            hooks = self.webhooks.handed()
            if not messages and hooks is None:
                return total
            outcome, attempts = await asyncio.gather(
                self.mailer.deliver(messages, keep_open=True),
                self.webhooks.attempt(*hooks) if hooks else _nothing(),
            )
            async with self.database.transaction() as session:
                await self.mailer.record(session, outcome)
                if hooks:
                    await self.webhooks.record(session, attempts, endpoints=hooks[1])
            self.mailer.count(outcome)
            self.webhooks.count(attempts)
            total += len(outcome.sent) + sum(attempt.delivered for attempt in attempts)

    async def _round(self) -> float:
        await self.send_handed()
        at_most = self.loop.poll_seconds
        mail_wait = await self.mailer.look(at_most=at_most)
        webhook_wait = await self.webhooks.look(at_most=at_most)
        return min(mail_wait, webhook_wait)


async def _nothing() -> list[delivery.Attempt]:
    return []
