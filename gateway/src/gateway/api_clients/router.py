"""Admin routes for API clients: create (secret shown once), list, read, revoke."""

import uuid

from fastapi import APIRouter, Request, status

from gateway.api_clients import service
from gateway.api_clients.schemas import ApiClientCreate, ApiClientCreated, ApiClientRead
from gateway.deps import AdminDep, SessionDep
from kit.pagination import Page, PageParamsDep

router = APIRouter(prefix="/api/v1/admin/api-clients", tags=["api clients"])


@router.post("", response_model=ApiClientCreated, status_code=status.HTTP_201_CREATED)
async def create_api_client(
    session: SessionDep, caller: AdminDep, data: ApiClientCreate
) -> ApiClientCreated:
    """Create an API client (admin). The response is the only time the secret is shown."""
    assert caller.person_id is not None
    client, secret = await service.create_client(session, data=data, created_by=caller.person_id)
    return ApiClientCreated.model_validate(
        {**ApiClientRead.model_validate(client).model_dump(), "secret": secret}
    )


@router.get("", response_model=Page[ApiClientRead])
async def list_api_clients(
    session: SessionDep, caller: AdminDep, page: PageParamsDep
) -> Page[ApiClientRead]:
    """All API clients, revoked ones included, oldest first (admin). Secrets never appear."""
    clients, next_cursor = await service.list_clients(session, page=page)
    return Page(items=[ApiClientRead.model_validate(c) for c in clients], next_cursor=next_cursor)


@router.get("/{client_id}", response_model=ApiClientRead)
async def get_api_client(
    client_id: uuid.UUID, session: SessionDep, caller: AdminDep
) -> ApiClientRead:
    """One API client, with when it was last used (admin)."""
    return ApiClientRead.model_validate(await service.get_client(session, client_id=client_id))


@router.post("/{client_id}/revoke", response_model=ApiClientRead)
async def revoke_api_client(
    client_id: uuid.UUID, request: Request, session: SessionDep, caller: AdminDep
) -> ApiClientRead:
    """Revoke an API client (admin): its secret stops working at once on this gateway and
    within the principal cache time on the others."""
    client = await service.revoke_client(session, client_id=client_id)
    request.app.state.authenticator.forget_api_client(client_id)
    return ApiClientRead.model_validate(client)
