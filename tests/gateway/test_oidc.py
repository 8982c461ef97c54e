"""Login with an OIDC provider: JWTs checked against its JWKS, with key rotation.

The provider is external, so its JWKS endpoint is an ``httpx.MockTransport`` serving keys
generated here; the gateway's real verifier and cache run against it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from gateway.config import GatewaySettings
from gateway.oidc import JwksCache, OidcVerifier
from tests.support.stack import StackHandle

ISSUER = "https://login.northwind.example"
AUDIENCE = "smp-portal"


@dataclass
class IdentityProvider:
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    jwks_requests: int = 0

    def rotate(self) -> str:
        kid = uuid.uuid4().hex[:8]
        self.keys = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        return kid

    def jwks(self, request: httpx.Request) -> httpx.Response:
        self.jwks_requests += 1
        keys = []
        for kid, key in self.keys.items():
            jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return httpx.Response(200, json={"keys": keys})

    def token(self, subject: str, *, kid: str | None = None, **claims: Any) -> str:
        kid = kid or next(iter(self.keys))
        now = dt.datetime.now(dt.UTC)
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + dt.timedelta(minutes=5),
            **claims,
        }
        return jwt.encode(payload, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
async def idp(stack: StackHandle) -> AsyncIterator[IdentityProvider]:
    """Turns OIDC login on in the running gateway for one test, against a local IdP."""
    provider = IdentityProvider()
    provider.rotate()
    authenticator = stack.stack.apps["gateway"].state.authenticator
    async with httpx.AsyncClient(transport=httpx.MockTransport(provider.jwks)) as client:
        authenticator.oidc = OidcVerifier(
            issuer=ISSUER,
            audience=AUDIENCE,
            algorithms=["RS256"],
            person_claim="sub",
            jwks=JwksCache(
                client,
                "https://login.northwind.example/keys",
                max_age_seconds=3600,
                min_refresh_seconds=0,
            ),
        )
        try:
            yield provider
        finally:
            authenticator.oidc = None


def bearer(stack: StackHandle, token: str) -> httpx.AsyncClient:
    return stack.client(headers={"Authorization": f"Bearer {token}"})


class TestOidcLogin:
    async def test_a_provider_token_signs_the_person_in(
        self, stack: StackHandle, idp: IdentityProvider
    ) -> None:
        person = await stack.person(external_id="00u-ada", roles=["coach"])

        response = await bearer(stack, idp.token("00u-ada")).get("/api/v1/me")

        assert response.status_code == 200
        assert response.json()["id"] == str(person.id)
        assert response.json()["roles"] == ["coach", "employee"]

    async def test_keys_are_cached_between_requests(
        self, stack: StackHandle, idp: IdentityProvider
    ) -> None:
        await stack.person(external_id="00u-bo")
        client = bearer(stack, idp.token("00u-bo"))

        for _ in range(3):
            assert (await client.get("/api/v1/me")).status_code == 200

        assert idp.jwks_requests == 1

    async def test_a_rotated_key_is_fetched_on_its_unknown_key_id(
        self, stack: StackHandle, idp: IdentityProvider
    ) -> None:
        await stack.person(external_id="00u-cy")
        assert (await bearer(stack, idp.token("00u-cy")).get("/api/v1/me")).status_code == 200

        new_kid = idp.rotate()
        response = await bearer(stack, idp.token("00u-cy", kid=new_kid)).get("/api/v1/me")

        assert response.status_code == 200
        assert idp.jwks_requests == 2

    async def test_a_key_the_provider_does_not_publish_is_refused(
        self, stack: StackHandle, idp: IdentityProvider
    ) -> None:
        await stack.person(external_id="00u-di")
        stranger = IdentityProvider()
        kid = stranger.rotate()

        response = await bearer(stack, stranger.token("00u-di", kid=kid)).get("/api/v1/me")

        assert response.status_code == 401
        assert kid in response.json()["detail"]

    async def test_another_audience_is_refused(
        self, stack: StackHandle, idp: IdentityProvider
    ) -> None:
        await stack.person(external_id="00u-ed")

        response = await bearer(stack, idp.token("00u-ed", aud="another-app")).get("/api/v1/me")

        assert response.status_code == 401
        assert "audience" in response.json()["detail"].lower()

    async def test_an_expired_token_is_refused(
        self, stack: StackHandle, idp: IdentityProvider
    ) -> None:
        await stack.person(external_id="00u-fi")
        past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)

        response = await bearer(stack, idp.token("00u-fi", exp=past)).get("/api/v1/me")

        assert response.status_code == 401

    async def test_a_person_not_provisioned_is_told_why(
        self, stack: StackHandle, idp: IdentityProvider
    ) -> None:
        response = await bearer(stack, idp.token("00u-nobody")).get("/api/v1/me")

        assert response.status_code == 401
        assert "SCIM" in response.json()["detail"]

    async def test_a_deactivated_person_is_refused(
        self, stack: StackHandle, idp: IdentityProvider
    ) -> None:
        await stack.person(external_id="00u-gone", active=False)

        response = await bearer(stack, idp.token("00u-gone")).get("/api/v1/me")

        assert response.json()["type"] == "urn:smp:problem:account-deactivated"


class TestSettings:
    def test_oidc_needs_issuer_audience_and_jwks_url_together(self) -> None:
        with pytest.raises(ValidationError, match="GATEWAY_OIDC_JWKS_URL"):
            GatewaySettings(oidc_issuer=ISSUER, oidc_audience=AUDIENCE)
