"""The internal token the gateway sends to a service: reused per principal for half its
lifetime (signing is the costliest step of forwarding), renewed when roles change."""

from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace
from typing import Any, cast

import jwt
import pytest

import kit.identity
from gateway.auth import Authenticator
from gateway.config import GatewaySettings
from gateway.proxy import InternalTokenCache
from kit.context import set_request_id
from kit.errors import Unauthorized
from kit.identity import (
    GATEWAY_AUDIENCE,
    Caller,
    InternalTokenSigner,
    InternalTokenVerifier,
    PrincipalKind,
)
from kit.settings import DEV_INTERNAL_TOKEN_SECRET


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def caller(*roles: str) -> Caller:
    return Caller(
        subject="3f0c7a52-4d1e-4b8e-9a63-0d5a4c1e2b7f",
        kind=PrincipalKind.USER,
        roles=frozenset({"employee", *roles}),
    )


class CountingSigner(InternalTokenSigner):
    def __init__(self) -> None:
        super().__init__(DEV_INTERNAL_TOKEN_SECRET)
        self.signed = 0

    def sign(self, **claims: Any) -> str:
        self.signed += 1
        return super().sign(**claims)


def cache(clock: Clock, signer: InternalTokenSigner | None = None) -> InternalTokenCache:
    return InternalTokenCache(signer or InternalTokenSigner(DEV_INTERNAL_TOKEN_SECRET), clock=clock)


def test_the_same_principal_reuses_its_token_within_the_window() -> None:
    clock = Clock()
    tokens = cache(clock)
    first = tokens.token_for(caller(), audience="training")
    clock.now += 29
    assert tokens.token_for(caller(), audience="training") == first


def test_a_new_token_after_the_window_is_still_valid_at_the_service() -> None:
    clock, signer = Clock(), CountingSigner()
    tokens = cache(clock, signer)
    tokens.token_for(caller(), audience="training")
    clock.now += 31
    renewed = tokens.token_for(caller(), audience="training")
    verified = InternalTokenVerifier([DEV_INTERNAL_TOKEN_SECRET], audience="training").verify(
        renewed
    )
    assert signer.signed == 2
    assert verified.subject == caller().subject


def test_a_clock_stepped_back_gets_a_fresh_token() -> None:
    clock, signer = Clock(), CountingSigner()
    tokens = cache(clock, signer)
    tokens.token_for(caller(), audience="training")
    clock.now -= 120
    tokens.token_for(caller(), audience="training")
    assert signer.signed == 2


def test_a_role_change_or_another_service_gets_its_own_token_at_once() -> None:
    tokens = cache(Clock())
    employee = tokens.token_for(caller(), audience="training")
    owner = tokens.token_for(caller("policy_owner"), audience="training")
    elsewhere = tokens.token_for(caller(), audience="coaching")

    verifier = InternalTokenVerifier([DEV_INTERNAL_TOKEN_SECRET], audience="training")
    assert len({employee, owner, elsewhere}) == 3
    assert "policy_owner" in verifier.verify(owner).roles
    assert "policy_owner" not in verifier.verify(employee).roles


# The gateway's side: a service's own token, presented to the gateway on every call.


class Later:
    """Moves the clocks internal tokens are checked against (the verifier's cache and the
    JWT library's) ``seconds`` ahead."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    def __call__(self, seconds: float) -> None:
        shifted = dt.timedelta(seconds=seconds)

        class Clock(dt.datetime):
            @classmethod
            def now(cls, tz: dt.tzinfo | None = None) -> Any:
                return dt.datetime.now(tz) + shifted

        self.monkeypatch.setattr(jwt.api_jwt, "datetime", Clock)
        self.monkeypatch.setattr(
            kit.identity, "time", SimpleNamespace(time=lambda: time.time() + seconds)
        )


def gateway_authenticator() -> Authenticator:
    settings = GatewaySettings()
    # Internal tokens need neither the directory nor the API client keys.
    return Authenticator(
        settings=settings,
        people=cast("Any", None),
        api_clients=cast("Any", None),
        service_verifier=InternalTokenVerifier(
            settings.verification_secrets(), audience=GATEWAY_AUDIENCE
        ),
        oidc=None,
    )


def token_of(subject: str, kind: PrincipalKind = PrincipalKind.SERVICE) -> str:
    return InternalTokenSigner(DEV_INTERNAL_TOKEN_SECRET).sign(
        audience=GATEWAY_AUDIENCE, subject=subject, kind=kind
    )


async def test_a_service_token_accepted_before_is_refused_once_it_expired(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    authenticator, token = gateway_authenticator(), token_of("service:incidents")
    assert (await authenticator.authenticate(token)).subject == "service:incidents"
    assert (await authenticator.authenticate(token)).subject == "service:incidents"

    Later(monkeypatch)(120)

    with pytest.raises(Unauthorized, match="expired"):
        await authenticator.authenticate(token)
    with pytest.raises(Unauthorized, match="expired"):
        await authenticator.authenticate(token)


async def test_an_internal_token_naming_a_person_is_refused_every_time() -> None:
    authenticator = gateway_authenticator()
    token = token_of("3f0c7a52-4d1e-4b8e-9a63-0d5a4c1e2b7f", PrincipalKind.USER)
    for _ in range(2):
        with pytest.raises(Unauthorized, match="Only service principals"):
            await authenticator.authenticate(token)


async def test_each_call_with_the_same_token_carries_its_own_request_id() -> None:
    authenticator, token = gateway_authenticator(), token_of("service:training")
    ids = []
    for request_id in ("first-call", "second-call"):
        set_request_id(request_id)
        ids.append((await authenticator.authenticate(token)).request_id)
    assert ids == ["first-call", "second-call"]
