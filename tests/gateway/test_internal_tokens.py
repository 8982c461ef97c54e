"""The internal token the gateway sends to a service: reused per principal for half its
lifetime (signing is the costliest step of forwarding), renewed when roles change."""

from __future__ import annotations

import time
from typing import Any

from gateway.proxy import InternalTokenCache
from kit.identity import Caller, InternalTokenSigner, InternalTokenVerifier, PrincipalKind
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
