"""Sending webhooks: due deliveries claimed with a lease by the sender of any gateway
replica, posted concurrently, each signed (Standard Webhooks) and sent with the gateway's
own client (no caller's credentials, no cookies, no redirects followed).

* A 2xx delivers. Anything else, a timeout or a refused connection is tried again with
  exponential backoff (``GATEWAY_WEBHOOK_RETRY_*``, capped at an hour), for as long as the
  endpoint stays enabled.
* A 410 Gone disables the endpoint at once; an endpoint whose deliveries have all failed
  for ``GATEWAY_WEBHOOK_DISABLE_AFTER_HOURS`` (3 days) is disabled. Either way the admins
  are told (``webhook.endpoint.disabled`` in their inbox and mail), and the waiting
  deliveries resume if an admin enables it again.
* A slow receiver holds a delivery for at most ``GATEWAY_WEBHOOK_TIMEOUT_SECONDS`` in all
  (connect, send, wait, read), then it counts as a failure.
* The intake wakes this process's sender right after the commit that queued deliveries,
  so a delivery leaves without waiting for a poll.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import ssl
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import GatewaySettings
from gateway.events import intake
from gateway.events.models import ReceivedEvent
from gateway.metrics import DELIVERIES_TOTAL
from gateway.webhooks import signing, urls
from gateway.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from gateway.webhooks.service import signing_secrets
from kit.db import Database, table_of, utcnow
from kit.jobs import MAX_ERROR_LENGTH, Backoff, Handover, claim_due, seconds_until_due
from kit.outbox import Event
from kit.transport import Http1Transport

logger = logging.getLogger("gateway.webhooks")

BATCH_SIZE = 100
LEASE = dt.timedelta(minutes=2)
# A receiver's connection is reused for this long at most: many servers close idle ones
# after a few seconds, and a delivery sent on one just closed fails (and is retried).
IDLE_SECONDS = 2.0
DISABLED_EVENT = "webhook.endpoint.disabled"


@dataclass(frozen=True, slots=True)
class Attempt:
    delivery: Any
    status_code: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def payload(event: Any) -> str:
    """The body: the event's envelope (``data`` as the service emitted it)."""
    return json.dumps(
        {
            "id": str(event.id),
            "type": event.type,
            "timestamp": event.occurred_at.isoformat(),
            "source": event.source,
            "data": event.data,
        },
        separators=(",", ":"),
    )


class WebhookSender:
    """The webhook sender of one gateway process (see module doc); its background loop
    is :class:`gateway.events.senders.Senders`."""

    def __init__(
        self,
        database: Database,
        settings: GatewaySettings,
        *,
        outgoing: intake.Outgoing,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.outgoing = outgoing
        self.rules = urls.UrlRules(
            allow_http=settings.webhook_http_allowed,
            allow_private=settings.webhook_allow_private_addresses,
        )
        self.backoff = Backoff(
            settings.webhook_retry_base_seconds, settings.webhook_retry_max_seconds
        )
        self.disable_after = dt.timedelta(hours=settings.webhook_disable_after_hours)
        self.timeout = settings.webhook_timeout_seconds
        self.client = httpx.AsyncClient(
            # kit.http1's connections rather than httpcore's: httpx's own transport was
            # most of the gateway's CPU per delivery (bench.outbox --py-spy).
            transport=transport
            or Http1Transport(
                max_connections=settings.webhook_concurrency,
                idle_seconds=IDLE_SECONDS,
                tls=ssl.create_default_context(),
            ),
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=settings.webhook_concurrency),
            headers={"user-agent": "smp-webhooks/1"},
        )
        self._slots = asyncio.Semaphore(settings.webhook_concurrency)
        self._counters = {
            outcome: DELIVERIES_TOTAL.labels("webhook", outcome)
            for outcome in ("delivered", "failed", "gave_up")
        }
        # Deliveries this process's intake queued, handed over after its commit.
        self.handover = Handover(LEASE)
        # Wakes the background loop that sends (gateway.events.senders), once it runs.
        self.wake: Callable[[], None] = lambda: None

    async def close(self) -> None:
        await self.client.aclose()

    async def send_due(self) -> int:
        """Send one batch of due deliveries; how many were delivered."""
        deliveries, endpoints, events = await self._claim()
        return await self._send(deliveries, endpoints, events)

    async def _send(
        self,
        deliveries: Sequence[Any],
        endpoints: dict[uuid.UUID, Any],
        events: dict[uuid.UUID, Any],
    ) -> int:
        if not deliveries:
            return 0
        attempts = await self.attempt(deliveries, endpoints, events)
        async with self.database.transaction() as session:
            await self.record(session, attempts, endpoints=endpoints)
        self.count(attempts)
        return sum(attempt.delivered for attempt in attempts)

    async def attempt(
        self,
        deliveries: Sequence[Any],
        endpoints: dict[uuid.UUID, Any],
        events: dict[uuid.UUID, Any],
    ) -> list[Attempt]:
        """Post each leased delivery, concurrently (recorded by the caller)."""
        # Each endpoint's address is checked once per batch, not once per delivery.
        refused = {
            endpoint_id: await self._refusal(endpoints[endpoint_id].url)
            for endpoint_id in {d.endpoint_id for d in deliveries}
        }
        attempts = await asyncio.gather(
            *(
                self._attempt(
                    d,
                    endpoint=endpoints[d.endpoint_id],
                    event=events[d.event_id],
                    refused=refused[d.endpoint_id],
                )
                for d in deliveries
            )
        )
        return list(attempts)

    async def send_all_due(self) -> int:
        total = 0
        while (sent := await self.send_due()) > 0:
            total += sent
        return total

    async def _claim(self) -> tuple[list[Any], dict[uuid.UUID, Any], dict[uuid.UUID, Any]]:
        table = table_of(WebhookDelivery)
        async with self.database.transaction() as session:
            deliveries = await claim_due(
                session, table, limit=BATCH_SIZE, lease=LEASE, where=self._claimable()
            )
            if not deliveries:
                return [], {}, {}
            endpoints, events = await self._context(session, deliveries)
            return deliveries, endpoints, events

    def handed(self) -> tuple[list[Any], dict[uuid.UUID, Any], dict[uuid.UUID, Any]] | None:
        """Deliveries handed over by this process's intake, with their endpoint and event
        as the intake's transaction read them (an endpoint enabled then): sent without a
        read of their own, as if sent the moment that transaction committed."""
        handed = self.handover.take(BATCH_SIZE)
        if not handed:
            return None
        endpoints = {d.endpoint_id: d.endpoint for d in handed}
        events = {d.event_id: d.event for d in handed}
        return handed, endpoints, events

    async def _context(
        self, session: AsyncSession, deliveries: Sequence[Any]
    ) -> tuple[dict[uuid.UUID, Any], dict[uuid.UUID, Any]]:
        endpoints_table = table_of(WebhookEndpoint)
        endpoint_rows = await session.execute(
            select(endpoints_table).where(
                endpoints_table.c.id.in_({d.endpoint_id for d in deliveries})
            )
        )
        events_table = table_of(ReceivedEvent)
        event_rows = await session.execute(
            select(events_table).where(events_table.c.id.in_({d.event_id for d in deliveries}))
        )
        return {row.id: row for row in endpoint_rows}, {row.id: row for row in event_rows}

    async def _refusal(self, url: str) -> str | None:
        """Why ``url`` may not be delivered to now (its host re-pointed inside), if so."""
        try:
            await urls.check_destination(url, self.rules)
        except urls.RefusedUrl as refused:
            return f"refused: {refused}"
        return None

    async def _attempt(
        self, delivery: Any, *, endpoint: Any, event: Any, refused: str | None
    ) -> Attempt:
        if refused is not None:
            return Attempt(delivery, error=refused)
        async with self._slots:
            now = utcnow()
            body = payload(event)
            headers = signing.signed_headers(
                message_id=str(event.id),
                timestamp=now,
                body=body,
                secrets=signing_secrets(endpoint, now=now),
            )
            try:
                # The whole exchange, however slowly the receiver drips its answer.
                async with asyncio.timeout(self.timeout):
                    response = await self.client.post(
                        endpoint.url, content=body.encode(), headers=headers
                    )
            except (httpx.HTTPError, TimeoutError) as error:
                return Attempt(delivery, error=f"{type(error).__name__}: {error}"[:200])
            return Attempt(delivery, status_code=response.status_code)

    async def record(
        self,
        session: AsyncSession,
        attempts: Sequence[Attempt],
        *,
        endpoints: dict[uuid.UUID, Any],
    ) -> None:
        """In ``session``'s transaction: each delivery's outcome, and what it means for
        its endpoint (failing since, disabled)."""
        table = table_of(WebhookDelivery)
        now = utcnow()
        gone = {a.delivery.endpoint_id for a in attempts if a.gone}
        succeeded = {a.delivery.endpoint_id for a in attempts if a.delivered}
        failed = {a.delivery.endpoint_id for a in attempts if not a.delivered} - succeeded
        await self._record_delivered(session, [a for a in attempts if a.delivered], now=now)
        for attempt in attempts:
            if attempt.delivered:
                continue
            row = attempt.delivery
            values: dict[str, Any] = {
                "attempts": row.attempts + 1,
                "last_status_code": attempt.status_code,
                "last_attempt_at": now,
                "leased_until": None,
            }
            if attempt.gone:
                values |= {"status": DeliveryStatus.FAILED, "last_error": "410 Gone"}
            else:
                error = attempt.error or f"answered {attempt.status_code}"
                self.handover.look_by(now + self.backoff.delay(row.attempts + 1))
                values |= {
                    "next_attempt_at": now + self.backoff.delay(row.attempts + 1),
                    "last_error": error[:MAX_ERROR_LENGTH],
                }
            await session.execute(update(table).where(table.c.id == row.id).values(**values))
        await self._update_endpoints(
            session, endpoints=endpoints, succeeded=succeeded, failed=failed, gone=gone
        )

    def count(self, attempts: Sequence[Attempt]) -> None:
        """The metrics, once the attempts are recorded."""
        for attempt in attempts:
            outcome = "delivered" if attempt.delivered else "gave_up" if attempt.gone else "failed"
            self._counters[outcome].inc()

    @staticmethod
    async def _record_delivered(
        session: AsyncSession, attempts: Sequence[Attempt], *, now: dt.datetime
    ) -> None:
        """One UPDATE per status code for the deliveries that went through (usually one
        for the whole batch)."""
        table = table_of(WebhookDelivery)
        by_code: dict[int | None, list[uuid.UUID]] = {}
        for attempt in attempts:
            by_code.setdefault(attempt.status_code, []).append(attempt.delivery.id)
        for status_code, ids in by_code.items():
            await session.execute(
                update(table)
                .where(table.c.id.in_(ids))
                .values(
                    attempts=table.c.attempts + 1,
                    last_status_code=status_code,
                    last_attempt_at=now,
                    leased_until=None,
                    status=DeliveryStatus.DELIVERED,
                    delivered_at=now,
                    last_error=None,
                )
            )

    async def _update_endpoints(
        self,
        session: AsyncSession,
        *,
        endpoints: dict[uuid.UUID, Any],
        succeeded: set[uuid.UUID],
        failed: set[uuid.UUID],
        gone: set[uuid.UUID],
    ) -> None:
        table = table_of(WebhookEndpoint)
        now = utcnow()
        # Only an endpoint that was failing has anything to clear (most rounds: none).
        if any(endpoints[endpoint_id].failing_since is not None for endpoint_id in succeeded):
            await session.execute(
                update(table)
                .where(table.c.id.in_(succeeded), table.c.failing_since.is_not(None))
                .values(failing_since=None)
            )
        for endpoint_id in failed:
            since = endpoints[endpoint_id].failing_since or now
            reason = None
            if endpoint_id in gone:
                reason = "The endpoint answered 410 Gone."
            elif now - since >= self.disable_after:
                reason = f"Every delivery has failed since {since:%Y-%m-%d %H:%M} UTC."
            if reason is None:
                await session.execute(
                    update(table)
                    .where(table.c.id == endpoint_id, table.c.failing_since.is_(None))
                    .values(failing_since=since)
                )
                continue
            disabled = await session.execute(
                update(table)
                .where(table.c.id == endpoint_id, table.c.enabled.is_(True))
                .values(enabled=False, disabled_reason=reason, failing_since=since, updated_at=now)
            )
            if getattr(disabled, "rowcount", 0):
                logger.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)
                await self._tell_admins(session, endpoint=endpoints[endpoint_id], reason=reason)

    async def _tell_admins(self, session: AsyncSession, *, endpoint: Any, reason: str) -> None:
        event = Event(
            id=uuid.uuid4(),
            type=DISABLED_EVENT,
            source="gateway",
            occurred_at=utcnow(),
            data={"endpoint_id": str(endpoint.id), "url": endpoint.url, "reason": reason},
        )
        await intake.take_in(session, events=[event], outgoing=self.outgoing)

    async def look(self, *, at_most: float) -> float:
        """At a poll, or when a retry is due: send what is due in the table (other
        replicas' deliveries, a crashed process's, retries, replays); seconds until the
        next look."""
        if wait := self.handover.time_to_look():
            return wait
        while await self.send_due() > 0:
            pass
        table = table_of(WebhookDelivery)
        async with self.database.transaction(write=False) as session:
            delay = await seconds_until_due(
                session, table, at_most=at_most, where=self._claimable()
            )
        self.handover.looked(next_in_seconds=delay)
        return delay

    @staticmethod
    def _claimable() -> list[Any]:
        """Pending deliveries to enabled endpoints (a disabled one's wait for it)."""
        table = table_of(WebhookDelivery)
        endpoints = table_of(WebhookEndpoint)
        enabled = select(endpoints.c.id).where(endpoints.c.enabled.is_(True))
        return [table.c.status == DeliveryStatus.PENDING, table.c.endpoint_id.in_(enabled)]
