"""Services admit only requests with a valid internal token from the gateway."""

from __future__ import annotations

import time

import jwt
import pytest
import time_machine

from kit.errors import Unauthorized
from kit.identity import (
    CLOCK_SKEW_SECONDS,
    ISSUER,
    VERIFIED_CACHE_SIZE,
    InternalTokenSigner,
    InternalTokenVerifier,
    PrincipalKind,
)
from kit.settings import DEV_INTERNAL_TOKEN_SECRET
from tests.kit.conftest import Notes

OTHER_SECRET = "another-secret-that-is-long-enough-000000"


def forge(**overrides: object) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": "notes",
        "sub": "someone",
        "kind": "user",
        "roles": ["admin"],
        "iat": now,
        "exp": now + 30,
    }
    claims.update(overrides)
    secret = str(claims.pop("secret", DEV_INTERNAL_TOKEN_SECRET))
    return jwt.encode(claims, secret, algorithm="HS256")


class TestInternalAuth:
    async def test_no_token_is_a_401_problem(self, notes: Notes) -> None:
        response = await notes.client(token="").get("/api/v1/notes")

        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
        assert "gateway" in response.json()["detail"]

    async def test_unknown_paths_are_hidden_behind_the_401(self, notes: Notes) -> None:
        response = await notes.client(token="").get("/api/v1/does-not-exist")

        assert response.status_code == 401

    async def test_plain_identity_headers_are_not_trusted(self, notes: Notes) -> None:
        client = notes.client(token="", headers={"X-User-Id": "admin", "X-Roles": "admin"})

        response = await client.get("/api/v1/notes/admin-only")

        assert response.status_code == 401

    @pytest.mark.parametrize(
        ("case", "claims"),
        [
            ("wrong audience", {"aud": "training"}),
            ("wrong issuer", {"iss": "someone-else"}),
            ("wrong secret", {"secret": OTHER_SECRET}),
            ("expired", {"iat": int(time.time()) - 120, "exp": int(time.time()) - 60}),
            ("lives too long", {"exp": int(time.time()) + 3600}),
            ("unknown kind", {"kind": "robot"}),
        ],
    )
    async def test_invalid_tokens_are_refused(
        self, notes: Notes, case: str, claims: dict[str, object]
    ) -> None:
        response = await notes.client(token=forge(**claims)).get("/api/v1/notes")

        assert response.status_code == 401, case

    async def test_small_clock_skew_is_tolerated(self, notes: Notes) -> None:
        now = int(time.time())
        token = forge(iat=now - 32, exp=now - 2)

        response = await notes.client(token=token).get("/api/v1/notes")

        assert response.status_code == 200

    async def test_health_routes_need_no_token(self, notes: Notes) -> None:
        client = notes.client(token="")

        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).status_code == 200


class TestRoles:
    async def test_missing_role_is_a_403_naming_the_roles(self, notes: Notes) -> None:
        response = await notes.client(roles=["employee"]).get("/api/v1/notes/admin-only")

        assert response.status_code == 403
        assert "admin" in response.json()["detail"]

    async def test_holder_of_the_role_gets_in(self, notes: Notes) -> None:
        response = await notes.client(subject="boss", roles=["admin"]).get(
            "/api/v1/notes/admin-only"
        )

        assert response.status_code == 200
        assert response.json() == {"subject": "boss"}


class TestSecretRotation:
    def test_tokens_signed_with_the_previous_secret_are_accepted(self) -> None:
        old = InternalTokenSigner(OTHER_SECRET).sign(
            audience="notes", subject="s", kind=PrincipalKind.SERVICE
        )
        verifier = InternalTokenVerifier(
            [DEV_INTERNAL_TOKEN_SECRET, OTHER_SECRET], audience="notes"
        )

        assert verifier.verify(old).subject == "s"

    def test_short_secrets_are_refused(self) -> None:
        with pytest.raises(ValueError, match="at least 32 bytes"):
            InternalTokenSigner("short")

    def test_lifetime_over_a_minute_is_refused(self) -> None:
        with pytest.raises(ValueError, match="60"):
            InternalTokenSigner(DEV_INTERNAL_TOKEN_SECRET, lifetime_seconds=61)


class TestVerifiedTokenCache:
    """A service remembers tokens it has verified; that must never widen what it accepts."""

    def test_a_remembered_token_is_refused_once_it_expires(self) -> None:
        verifier = InternalTokenVerifier([DEV_INTERNAL_TOKEN_SECRET], audience="notes")
        token = forge(exp=int(time.time()) + 10)
        assert verifier.verify(token).subject == "someone"

        with (
            time_machine.travel(time.time() + 10 + CLOCK_SKEW_SECONDS + 1),
            pytest.raises(Unauthorized, match=r"(?i)expired"),
        ):
            verifier.verify(token)

    def test_a_refused_token_stays_refused(self) -> None:
        verifier = InternalTokenVerifier([DEV_INTERNAL_TOKEN_SECRET], audience="notes")
        forged = forge(secret=OTHER_SECRET)

        for _ in range(2):
            with pytest.raises(Unauthorized, match=r"(?i)signature"):
                verifier.verify(forged)

    def test_the_cache_stays_bounded(self) -> None:
        verifier = InternalTokenVerifier([DEV_INTERNAL_TOKEN_SECRET], audience="notes")
        first = forge(sub="first")
        verifier.verify(first)
        for number in range(VERIFIED_CACHE_SIZE):
            verifier.verify(forge(sub=f"person-{number}"))

        assert len(verifier._verified) == VERIFIED_CACHE_SIZE
        assert first not in verifier._verified
        assert verifier.verify(first).subject == "first"  # verified afresh
