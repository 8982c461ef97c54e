"""Creating, listing and revoking API clients, and checking their secrets.

A client's bearer secret is ``smp_<client id>_<random>``: the id finds the row, the random
part is compared against its SHA-256. A plain hash fits because the secret is 256 random
bits (no dictionary to guess from), and it keeps the check cheap on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from gateway.api_clients.schemas import ApiClientCreate
from gateway.errors import ApiClientNotFound
from gateway.models import ApiClient
from kit.db import utcnow
from kit.pagination import PageParams, paginate

SECRET_PREFIX = "smp_"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(client_id: uuid.UUID) -> tuple[str, str]:
    """A bearer secret for ``client_id`` and the hash to store."""
    random_part = secrets.token_urlsafe(32)
    return f"{SECRET_PREFIX}{client_id.hex}_{random_part}", hash_secret(random_part)


def parse_secret(token: str) -> tuple[uuid.UUID, str] | None:
    """``(client id, random part)`` of a well-formed secret, else ``None``."""
    if not token.startswith(SECRET_PREFIX):
        return None
    client_hex, _, random_part = token[len(SECRET_PREFIX) :].partition("_")
    try:
        return uuid.UUID(hex=client_hex), random_part
    except ValueError:
        return None


def secret_matches(random_part: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(random_part), stored_hash)


async def create_client(
    session: AsyncSession, *, data: ApiClientCreate, created_by: uuid.UUID
) -> tuple[ApiClient, str]:
    client_id = uuid.uuid4()
    secret, secret_hash = new_secret(client_id)
    client = ApiClient(
        id=client_id,
        name=data.name,
        scopes=" ".join(sorted(set(data.scopes))),
        secret_hash=secret_hash,
        created_by=created_by,
    )
    session.add(client)
    await session.flush()
    return client, secret


async def get_client(session: AsyncSession, *, client_id: uuid.UUID) -> ApiClient:
    client = await session.get(ApiClient, client_id)
    if client is None:
        raise ApiClientNotFound(f"No API client with id {client_id}.")
    return client


async def list_clients(
    session: AsyncSession, *, page: PageParams
) -> tuple[list[ApiClient], str | None]:
    return await paginate(
        session, select(ApiClient), order_by=[ApiClient.created_at, ApiClient.id], params=page
    )


async def revoke_client(session: AsyncSession, *, client_id: uuid.UUID) -> ApiClient:
    """Revoking twice keeps the first revocation time."""
    client = await get_client(session, client_id=client_id)
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        await session.flush()
    return client
