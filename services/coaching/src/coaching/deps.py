"""Dependencies the coaching routes share."""

from typing import Annotated

import httpx
from fastapi import Depends, Request

from kit.db import SessionDep
from kit.identity import CallerDep


async def gateway_of(request: Request) -> httpx.AsyncClient:
    """The pooled client for calls to other services through the gateway."""
    client: httpx.AsyncClient = request.app.state.gateway
    return client


GatewayDep = Annotated[httpx.AsyncClient, Depends(gateway_of)]

__all__ = ["CallerDep", "GatewayDep", "SessionDep"]
