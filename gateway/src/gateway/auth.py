"""Who is calling: bearer tokens in, a :class:`kit.identity.Caller` out.

Accepted bearer tokens:

* development tokens the gateway signs itself (``python -m gateway token --user NAME``),
  for the embedded default; off in production;
* internal tokens of a service principal (audience ``gateway``), for service-to-service
  calls, which the gateway authorises and forwards like any other call.

A person must exist in the directory and be active; their roles come from group
membership (``GATEWAY_GROUP_ROLES``) plus ``employee`` for everyone and ``manager`` for
anyone with active direct reports. The answer is cached for a few seconds per process.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from sqlalchemy import exists
from sqlmodel import col, select
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.config import GatewaySettings
from gateway.errors import AccountDeactivated, InvalidToken
from gateway.models import Group, GroupMember, Person
from kit.db import Database
from kit.errors import Unauthorized, domain_error_response
from kit.identity import ISSUER as INTERNAL_ISSUER
from kit.identity import Caller, InternalTokenVerifier, PrincipalKind, Role, bearer_token

DEV_ISSUER = "smp-gateway-dev"
DEV_AUDIENCE = "smp"


def sign_dev_token(settings: GatewaySettings, *, person_id: uuid.UUID) -> str:
    now = dt.datetime.now(dt.UTC)
    claims = {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": str(person_id),
        "iat": now,
        "exp": now + dt.timedelta(hours=settings.dev_token_lifetime_hours),
    }
    return jwt.encode(claims, settings.dev_token_secret.get_secret_value(), algorithm="HS256")


@dataclass(frozen=True, slots=True)
class _CachedPerson:
    active: bool
    roles: frozenset[str]
    expires: float


class PersonRoles:
    """Loads a person's active flag and roles, with a short per-process cache."""

    def __init__(self, database: Database, *, group_roles: dict[str, str], ttl: float) -> None:
        self.database = database
        self.group_roles = group_roles
        self.ttl = ttl
        self._cache: dict[uuid.UUID, _CachedPerson] = {}

    async def lookup(self, person_id: uuid.UUID) -> _CachedPerson | None:
        now = time.monotonic()
        cached = self._cache.get(person_id)
        if cached is not None and cached.expires > now:
            return cached
        async with self.database.transaction(write=False) as session:
            person = await session.get(Person, person_id)
            if person is None:
                return None
            groups = await session.scalars(
                select(Group.display_name)
                .join(GroupMember, col(GroupMember.group_id) == col(Group.id))
                .where(col(GroupMember.person_id) == person_id)
            )
            has_reports = await session.scalar(
                select(
                    exists().where(
                        col(Person.manager_id) == person_id, col(Person.active).is_(True)
                    )
                )
            )
        roles = {Role.EMPLOYEE.value}
        roles.update(self.group_roles[name] for name in groups if name in self.group_roles)
        if has_reports:
            roles.add(Role.MANAGER.value)
        entry = _CachedPerson(person.active, frozenset(roles), now + self.ttl)
        self._cache[person_id] = entry
        return entry

    def forget(self, person_id: uuid.UUID) -> None:
        """Drop a cached entry (after a deactivation or a group change)."""
        self._cache.pop(person_id, None)


class Authenticator:
    def __init__(
        self,
        *,
        settings: GatewaySettings,
        people: PersonRoles,
        service_verifier: InternalTokenVerifier,
    ) -> None:
        self.settings = settings
        self.people = people
        self.service_verifier = service_verifier

    async def authenticate(self, token: str) -> Caller:
        issuer = _unverified_issuer(token)
        if issuer == INTERNAL_ISSUER:
            caller = self.service_verifier.verify(token)
            if caller.kind is not PrincipalKind.SERVICE:
                raise InvalidToken("Only service principals may present internal tokens.")
            return caller
        if issuer == DEV_ISSUER and self.settings.dev_tokens_enabled:
            return await self._person(self._verify_dev(token))
        raise InvalidToken("The bearer token was not issued by an issuer this gateway trusts.")

    def _verify_dev(self, token: str) -> uuid.UUID:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.settings.dev_token_secret.get_secret_value(),
                algorithms=["HS256"],
                audience=DEV_AUDIENCE,
                issuer=DEV_ISSUER,
                options={"require": ["exp", "sub"]},
            )
            return uuid.UUID(claims["sub"])
        except (jwt.PyJWTError, ValueError) as exc:
            raise InvalidToken(f"The bearer token is not valid: {exc}.") from exc

    async def _person(self, person_id: uuid.UUID) -> Caller:
        entry = await self.people.lookup(person_id)
        if entry is None:
            raise InvalidToken("The token's subject is not a person in the directory.")
        if not entry.active:
            raise AccountDeactivated("This account is deactivated and can no longer sign in.")
        return Caller(subject=str(person_id), kind=PrincipalKind.USER, roles=entry.roles)


def _unverified_issuer(token: str) -> str | None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise InvalidToken("The bearer token is not a well-formed JWT.") from exc
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None


class AuthenticationMiddleware:
    """Resolves the bearer token, if any, into ``scope["state"]["caller"]``. A token that
    is present but invalid is refused here; a missing one is refused by whatever needs a
    caller (the proxy, or a route's dependency), so public routes stay public."""

    def __init__(self, app: ASGIApp, *, authenticator: Callable[[], Authenticator]) -> None:
        self.app = app
        # Built in the lifespan, after the middleware stack exists: looked up per call.
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            token = bearer_token(scope)
            if token is not None:
                try:
                    caller = await self.authenticator().authenticate(token)
                except Unauthorized as error:
                    await domain_error_response(error, instance=scope["path"])(scope, receive, send)
                    return
                scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)
