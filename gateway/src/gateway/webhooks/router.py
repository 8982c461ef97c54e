"""Admin routes for webhook subscriptions: create (secret shown once), list, read,
change (enable, disable), rotate the secret, recent deliveries, replay one."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Request, status

from gateway.config import GatewaySettings
from gateway.deps import AdminDep, SessionDep
from gateway.webhooks import service
from gateway.webhooks.schemas import (
    DeliveryRead,
    SecretRotation,
    WebhookCreate,
    WebhookRead,
    WebhookUpdate,
    WebhookWithSecret,
)
from gateway.webhooks.urls import UrlRules
from kit.pagination import Page, PageParamsDep

router = APIRouter(prefix="/api/v1/admin/webhooks", tags=["webhooks"])


def _rules(request: Request) -> UrlRules:
    settings: GatewaySettings = request.app.state.settings
    return UrlRules(
        allow_http=settings.webhook_http_allowed,
        allow_private=settings.webhook_allow_private_addresses,
        check_reachable=settings.webhook_check_reachable,
    )


def _with_secret(endpoint: object, secret: str) -> WebhookWithSecret:
    return WebhookWithSecret.model_validate(
        {**WebhookRead.model_validate(endpoint).model_dump(), "secret": secret}
    )


@router.post("", response_model=WebhookWithSecret, status_code=status.HTTP_201_CREATED)
async def create_webhook(
    data: WebhookCreate, request: Request, session: SessionDep, caller: AdminDep
) -> WebhookWithSecret:
    """Subscribe an endpoint to event types (admin). The URL is checked now (https, a
    public address, answering): 422 naming the problem. The secret is shown only here."""
    assert caller.person_id is not None
    endpoint = await service.create(
        session, data=data, rules=_rules(request), created_by=caller.person_id
    )
    return _with_secret(endpoint, endpoint.secret)


@router.get("", response_model=Page[WebhookRead])
async def list_webhooks(
    session: SessionDep, caller: AdminDep, page: PageParamsDep
) -> Page[WebhookRead]:
    """Every subscription, disabled ones included, oldest first (admin); never a secret."""
    endpoints, next_cursor = await service.list_endpoints(session, page=page)
    return Page(items=[WebhookRead.model_validate(e) for e in endpoints], next_cursor=next_cursor)


@router.get("/{webhook_id}", response_model=WebhookRead)
async def get_webhook(webhook_id: uuid.UUID, session: SessionDep, caller: AdminDep) -> WebhookRead:
    """One subscription, with why it is disabled and since when it fails (admin)."""
    return WebhookRead.model_validate(await service.get(session, endpoint_id=webhook_id))


@router.patch("/{webhook_id}", response_model=WebhookRead)
async def update_webhook(
    webhook_id: uuid.UUID,
    data: WebhookUpdate,
    request: Request,
    session: SessionDep,
    caller: AdminDep,
) -> WebhookRead:
    """Change the URL, the event types or the description, or enable/disable (admin);
    enabling resumes the deliveries that waited."""
    endpoint = await service.update(
        session, endpoint_id=webhook_id, data=data, rules=_rules(request)
    )
    if endpoint.enabled:
        request.app.state.webhook_sender.wake()
    return WebhookRead.model_validate(endpoint)


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookWithSecret)
async def rotate_secret(
    webhook_id: uuid.UUID, data: SecretRotation, session: SessionDep, caller: AdminDep
) -> WebhookWithSecret:
    """A new signing secret, shown only here; deliveries carry signatures with both the
    new and the old one for ``grace_hours``, so the receiver can switch in its own time."""
    endpoint = await service.rotate_secret(
        session, endpoint_id=webhook_id, grace=dt.timedelta(hours=data.grace_hours)
    )
    return _with_secret(endpoint, endpoint.secret)


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryRead])
async def list_deliveries(
    webhook_id: uuid.UUID, session: SessionDep, caller: AdminDep, page: PageParamsDep
) -> Page[DeliveryRead]:
    """Recent deliveries to the endpoint, newest first, with attempts and status codes."""
    deliveries, next_cursor = await service.list_deliveries(
        session, endpoint_id=webhook_id, page=page
    )
    return Page(items=[DeliveryRead.model_validate(d) for d in deliveries], next_cursor=next_cursor)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    response_model=DeliveryRead,
    status_code=status.HTTP_202_ACCEPTED,
)
async def replay_delivery(
    webhook_id: uuid.UUID,
    delivery_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    caller: AdminDep,
) -> DeliveryRead:
    """Send one delivery again now, with the same ``webhook-id`` (admin)."""
    delivery = await service.replay(session, endpoint_id=webhook_id, delivery_id=delivery_id)
    request.app.state.webhook_sender.wake()
    return DeliveryRead.model_validate(delivery)
