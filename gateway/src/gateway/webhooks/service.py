"""Managing subscriptions (admins), and queueing deliveries for the events taken in."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from gateway.errors import WebhookDeliveryNotFound, WebhookNotFound
from gateway.events.catalogue import EVENT_TYPES
from gateway.webhooks import signing, urls
from gateway.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from gateway.webhooks.schemas import WebhookCreate, WebhookUpdate
from kit.db import table_of, utcnow
from kit.errors import ValidationFailed
from kit.jobs import Handover
from kit.outbox import Event
from kit.pagination import PageParams, paginate


def _check_types(event_types: Sequence[str]) -> list[str]:
    errors = [
        {
            "detail": f"{kind!r} is not an event type; one of {sorted(EVENT_TYPES)}.",
            "pointer": f"#/event_types/{index}",
        }
        for index, kind in enumerate(event_types)
        if kind not in EVENT_TYPES
    ]
    if errors:
        raise ValidationFailed("Unknown event types.", extensions={"errors": errors})
    return sorted(set(event_types))


async def _check_url(url: str, rules: urls.UrlRules) -> None:
    try:
        await urls.check_new_url(url, rules)
    except urls.RefusedUrl as refused:
        raise ValidationFailed(
            f"This URL cannot receive webhooks: {refused}",
            extensions={"errors": [{"detail": str(refused), "pointer": "#/url"}]},
        ) from refused


async def create(
    session: AsyncSession, *, data: WebhookCreate, rules: urls.UrlRules, created_by: uuid.UUID
) -> WebhookEndpoint:
    event_types = _check_types(data.event_types)
    await _check_url(data.url, rules)
    endpoint = WebhookEndpoint(
        url=data.url,
        description=data.description,
        event_types=event_types,
        secret=signing.new_secret(),
        created_by=created_by,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def get(session: AsyncSession, *, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise WebhookNotFound(f"No webhook subscription with id {endpoint_id}.")
    return endpoint


async def list_endpoints(
    session: AsyncSession, *, page: PageParams
) -> tuple[list[WebhookEndpoint], str | None]:
    return await paginate(
        session,
        select(WebhookEndpoint),
        order_by=[WebhookEndpoint.created_at, WebhookEndpoint.id],
        params=page,
    )


async def update(
    session: AsyncSession, *, endpoint_id: uuid.UUID, data: WebhookUpdate, rules: urls.UrlRules
) -> WebhookEndpoint:
    endpoint = await get(session, endpoint_id=endpoint_id)
    if data.event_types is not None:
        endpoint.event_types = _check_types(data.event_types)
    if data.url is not None and data.url != endpoint.url:
        await _check_url(data.url, rules)
        endpoint.url = data.url
    if "description" in data.model_fields_set:
        endpoint.description = data.description
    if data.enabled is True and not endpoint.enabled:
        endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since = True, None, None
    elif data.enabled is False and endpoint.enabled:
        endpoint.enabled, endpoint.disabled_reason = False, "Disabled by an admin."
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    await session.flush()
    return endpoint


async def rotate_secret(
    session: AsyncSession, *, endpoint_id: uuid.UUID, grace: dt.timedelta
) -> WebhookEndpoint:
    """A new secret; the old one keeps signing (beside it) for ``grace``."""
    endpoint = await get(session, endpoint_id=endpoint_id)
    now = utcnow()
    endpoint.previous_secret = endpoint.secret if grace > dt.timedelta(0) else None
    endpoint.previous_secret_expires_at = now + grace if grace > dt.timedelta(0) else None
    endpoint.secret = signing.new_secret()
    endpoint.updated_at = now
    session.add(endpoint)
    await session.flush()
    return endpoint


def signing_secrets(endpoint: Any, *, now: dt.datetime) -> list[str]:
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        found.append(endpoint.previous_secret)
    return found


async def list_deliveries(
    session: AsyncSession, *, endpoint_id: uuid.UUID, page: PageParams
) -> tuple[list[WebhookDelivery], str | None]:
    await get(session, endpoint_id=endpoint_id)
    return await paginate(
        session,
        select(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint_id),
        order_by=[WebhookDelivery.created_at, WebhookDelivery.id],
        params=page,
        descending=True,
    )


async def replay(
    session: AsyncSession, *, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Send the delivery again now (same ``webhook-id``), whatever its status."""
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint_id:
        raise WebhookDeliveryNotFound(
            f"No delivery {delivery_id} for the webhook subscription {endpoint_id}."
        )
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = utcnow()
    delivery.leased_until = None
    session.add(delivery)
    await session.flush()
    return delivery


async def queue_deliveries(
    session: AsyncSession, *, events: Sequence[Event], handover: Handover | None = None
) -> int:
    """A delivery per event per enabled subscription to its type; how many. ``handover``:
    this process's sender, handed them after the commit with their endpoint and event
    (it need not read them again)."""
    if not events:
        return 0
    endpoints_table = table_of(WebhookEndpoint)
    endpoints = (
        await session.execute(sa_select(endpoints_table).where(endpoints_table.c.enabled.is_(True)))
    ).all()
    now = utcnow()
    queued = [
        (
            {
                "id": uuid.uuid4(),
                "endpoint_id": endpoint.id,
                "event_id": event.id,
                "event_type": event.type,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
            {"endpoint": endpoint, "event": event},
        )
        for event in events
        for endpoint in endpoints
        if event.type in endpoint.event_types
    ]
    rows = [row for row, _ in queued]
    if rows:
        if handover is not None:
            handover.lease_rows(session, rows, context=[context for _, context in queued])
        await session.execute(insert(table_of(WebhookDelivery)), rows)
    return len(rows)
