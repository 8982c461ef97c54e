"""Login with the organisation's OIDC identity provider: bearer JWTs checked against the
provider's JWKS (issuer, audience and algorithms from settings).

Keys are cached; a token signed with a key id we do not know triggers one refresh (the
provider rotated its keys), but refreshes are spaced out so a flood of forged key ids
cannot make us hammer the provider.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt

from gateway.errors import InvalidToken

# External providers' clocks drift more than ours; RFC 7519 leaves leeway to us.
CLOCK_SKEW_SECONDS = 30


class JwksCache:
    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        max_age_seconds: float,
        min_refresh_seconds: float,
    ) -> None:
        self.client = client
        self.url = url
        self.max_age = max_age_seconds
        self.min_refresh = min_refresh_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK:
        if time.monotonic() - self._fetched_at > self.max_age:
            await self._refresh(only_if_older_than=self.max_age)
        if kid not in self._keys:
            await self._refresh(only_if_older_than=self.min_refresh)
        try:
            return self._keys[kid]
        except KeyError:
            raise InvalidToken(
                f"The token was signed with key {kid!r}, which the identity provider does "
                "not publish."
            ) from None

    async def _refresh(self, *, only_if_older_than: float) -> None:
        async with self._lock:
            # Another request may have refreshed while this one waited for the lock.
            if time.monotonic() - self._fetched_at <= only_if_older_than:
                return
            try:
                response = await self.client.get(self.url)
                response.raise_for_status()
                key_set = jwt.PyJWKSet.from_dict(response.json())
            except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
                if not self._keys:
                    raise InvalidToken(
                        "The identity provider's signing keys could not be loaded; "
                        "try again shortly."
                    ) from exc
                return  # keep serving the keys we have
            self._keys = {key.key_id: key for key in key_set.keys if key.key_id}
            self._fetched_at = time.monotonic()


class OidcVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        algorithms: list[str],
        person_claim: str,
        jwks: JwksCache,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.algorithms = algorithms
        self.person_claim = person_claim
        self.jwks = jwks

    async def verify(self, token: str) -> tuple[str, float]:
        """The value of the claim that names the person (``sub`` by default), and the
        token's expiry (Unix time)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("The bearer token is not a well-formed JWT.") from exc
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("The token has no key id (kid) in its header.")
        key = await self.jwks.key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "aud", self.person_claim]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"The bearer token is not valid: {exc}.") from exc
        return str(claims[self.person_claim]), float(claims["exp"])
