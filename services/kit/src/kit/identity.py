"""The internal identity token: who is calling, as vouched for by the gateway.

The gateway authenticates the outside caller, then forwards the request with a short-lived
JWT (HS256, secret shared by gateway and services, audience = the target service). Services
trust nothing else: plain identity headers are ignored, and a request without a valid token
gets 401 before any route runs, so a service cannot be reached around the gateway.

A service calling another service signs a token for the audience ``gateway`` with its own
service principal (``service:incidents``); the gateway checks it and forwards the call like
any other.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from starlette.types import Scope

from kit.errors import Forbidden, Unauthorized

ISSUER = "smp-gateway"
GATEWAY_AUDIENCE = "gateway"
MAX_LIFETIME_SECONDS = 60
DEFAULT_LIFETIME_SECONDS = 30
CLOCK_SKEW_SECONDS = 5
# Verified internal tokens remembered per service process (a few per active principal).
VERIFIED_CACHE_SIZE = 4096
MIN_SECRET_BYTES = 32


class PrincipalKind(StrEnum):
    USER = "user"
    API_CLIENT = "api_client"
    SERVICE = "service"


class Role(StrEnum):
    EMPLOYEE = "employee"
    MANAGER = "manager"
    COACH = "coach"
    HR = "hr"
    LEGAL = "legal"
    POLICY_OWNER = "policy_owner"
    ADMIN = "admin"
    # The privacy officer: oversees retention, access requests, erasure and the access
    # audit. Not HR: HR handles cases, the privacy officer oversees them.
    PRIVACY = "privacy"


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated principal of the current request."""

    subject: str
    kind: PrincipalKind
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    request_id: str | None = None

    @property
    def person_id(self) -> uuid.UUID | None:
        """The person's id for a user principal, else ``None``."""
        if self.kind is not PrincipalKind.USER:
            return None
        return uuid.UUID(self.subject)

    @property
    def principal_key(self) -> str:
        """A stable key per principal (used to scope idempotency keys and rate limits)."""
        return f"{self.kind.value}:{self.subject}"

    def has_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)

    def is_service(self, *names: str) -> bool:
        return self.kind is PrincipalKind.SERVICE and self.subject in {
            f"service:{name}" for name in names
        }

    def is_person(self, person_id: uuid.UUID) -> bool:
        return self.kind is PrincipalKind.USER and self.subject == str(person_id)


def check_secret(secret: str) -> str:
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"the internal token secret must be at least {MIN_SECRET_BYTES} bytes")
    return secret


class InternalTokenSigner:
    def __init__(self, secret: str, *, lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS) -> None:
        if not 0 < lifetime_seconds <= MAX_LIFETIME_SECONDS:
            raise ValueError(f"internal tokens live at most {MAX_LIFETIME_SECONDS} s")
        self._secret = check_secret(secret)
        self._lifetime = lifetime_seconds

    @property
    def lifetime_seconds(self) -> int:
        return self._lifetime

    def sign(
        self,
        *,
        audience: str,
        subject: str,
        kind: PrincipalKind,
        roles: Iterable[str] = (),
        scopes: Iterable[str] = (),
        request_id: str | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": audience,
            "sub": subject,
            "kind": kind.value,
            "roles": sorted(roles),
            "scopes": sorted(scopes),
            "rid": request_id,
            "iat": now,
            "exp": now + self._lifetime,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")


class InternalTokenVerifier:
    """Checks signature, issuer, audience and lifetime. During a secret rotation it also
    accepts tokens signed with the previous secret.

    The gateway reuses a principal's token for half its lifetime, so most requests carry a
    token already verified: those are answered from a small cache until the token expires
    (decoding one cost a tenth of a primary-key read's CPU)."""

    def __init__(self, secrets: Sequence[str], *, audience: str) -> None:
        if not secrets:
            raise ValueError("at least one internal token secret is required")
        self._secrets = [check_secret(secret) for secret in secrets]
        self._audience = audience
        self._verified: dict[str, tuple[Caller, float]] = {}

    def verify(self, token: str) -> Caller:
        cached = self._verified.get(token)
        if cached is not None and time.time() < cached[1]:
            return cached[0]
        caller, expires_at = self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest entry
        self._verified[token] = (caller, expires_at)
        return caller

    def _verify(self, token: str) -> tuple[Caller, float]:
        """The caller, and until when the token stays valid (the same leeway as decoding)."""
        claims = self._decode(token)
        if claims["exp"] - claims["iat"] > MAX_LIFETIME_SECONDS:
            raise Unauthorized("The internal token lives longer than allowed.")
        try:
            kind = PrincipalKind(str(claims.get("kind")))
        except ValueError as exc:
            raise Unauthorized("The internal token names an unknown principal kind.") from exc
        caller = Caller(
            subject=str(claims["sub"]),
            kind=kind,
            roles=frozenset(claims.get("roles") or ()),
            scopes=frozenset(claims.get("scopes") or ()),
            request_id=claims.get("rid"),
        )
        return caller, float(claims["exp"] + CLOCK_SKEW_SECONDS)

    def _decode(self, token: str) -> dict[str, Any]:
        last_error: jwt.PyJWTError | None = None
        for secret in self._secrets:
            try:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    secret,
                    algorithms=["HS256"],
                    audience=self._audience,
                    issuer=ISSUER,
                    leeway=CLOCK_SKEW_SECONDS,
                    options={"require": ["exp", "iat", "sub", "aud", "iss"]},
                )
                return claims
            except jwt.InvalidSignatureError as exc:
                last_error = exc
            except jwt.PyJWTError as exc:
                raise Unauthorized(f"The internal token is not valid: {exc}.") from exc
        raise Unauthorized(f"The internal token is not valid: {last_error}.")


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return bearer_from(value)
    return None


def bearer_from(authorization: bytes) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header's value, else None."""
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def internal_caller(verifier: InternalTokenVerifier, authorization: bytes | None) -> Caller:
    """The caller an internal token names; Unauthorized without a valid one. kit.edge asks
    it of every request outside a service's public paths, before routing, so unknown
    paths do not reveal what exists either."""
    token = None if authorization is None else bearer_from(authorization)
    if token is None:
        raise Unauthorized(
            "This service is reached only through the gateway; "
            "the request carries no internal token."
        )
    return verifier.verify(token)


async def current_caller(request: Request) -> Caller:
    caller = getattr(request.state, "caller", None)
    if not isinstance(caller, Caller):
        raise Unauthorized("No authenticated caller.")
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


def require_roles(*roles: Role, scope: str | None = None) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency that admits callers holding any of ``roles``, and API clients holding
    ``scope`` when one is given (the gateway lets an API client through only to the routes
    its scopes open)."""
    names = ", ".join(role.value for role in roles)

    async def dependency(caller: CallerDep) -> Caller:
        if scope is not None and caller.kind is PrincipalKind.API_CLIENT:
            if scope not in caller.scopes:
                raise Forbidden(f"This needs an API client with the {scope!r} scope.")
            return caller
        if not caller.has_role(*roles):
            raise Forbidden(f"This needs one of the roles: {names}.")
        return caller

    return dependency


async def require_user(caller: CallerDep) -> Caller:
    """A dependency that admits only people (not API clients or services)."""
    if caller.kind is not PrincipalKind.USER:
        raise Forbidden("Only a signed-in person can do this.")
    return caller


UserDep = Annotated[Caller, Depends(require_user)]
