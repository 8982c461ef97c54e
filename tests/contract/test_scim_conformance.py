"""scim2-tester's conformance checks of /scim/v2 (Users and Groups), as Okta or Entra would
meet it: discovery first, then each resource's create, read, replace, patch and delete with
the values it generates from our /Schemas."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server

from tests.contract.serving import serve
from tests.support.stack import StackHandle

# What we refuse on purpose, found in a failed check's reason, and why (README, "SCIM 2.0").
REFUSED: dict[str, str] = {
    # The checker sends a UUID (36 characters) as a locale; a language tag (BCP 47, such as
    # en-US) is what the services use to pick a language, so it is refused.
    "locale": "not a language tag",
    "preferredLanguage": "not a language tag",
    # It names a manager or members it never created; a reference to a person who is not
    # provisioned would leave the directory pointing nowhere.
    "is not a user here": "reference to a user that was never provisioned",
    "are not users here": "reference to a user that was never provisioned",
    # Removing `active` leaves a person active (the default): the directory needs a yes or
    # no, and an unassigned `active` cannot lock anyone out.
    "did not remove attribute 'active'": "an unassigned active is true",
}


def refused(reason: str) -> bool:
    return any(marker in reason for marker in REFUSED)


@pytest.fixture
async def scim_url(committed_stack: StackHandle) -> AsyncIterator[str]:
    async with serve(committed_stack.stack.apps["gateway"]) as url:
        yield url + "/scim/v2"


def run_checks(base_url: str, secret: str, resource_type: str) -> list[tuple[str, str, str]]:
    with httpx2.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=30
    ) as http:
        client = SyncSCIMClient(http)
        client.discover()
        results = check_server(client, resource_types=[resource_type])
    return [(str(result.title), result.status.name, str(result.reason or "")) for result in results]


@pytest.mark.parametrize("resource_type", ["User", "Group"])
async def test_scim2_tester_passes(
    resource_type: str,
    scim_url: str,
    committed_stack: StackHandle,
) -> None:
    response = await committed_stack.as_user(await committed_stack.person(roles=["admin"])).post(
        "/api/v1/admin/api-clients", json={"name": "IdP", "scopes": ["scim"]}
    )
    secret = response.json()["secret"]

    results = await asyncio.to_thread(run_checks, scim_url, secret, resource_type)

    failed = [r for r in results if r[1] in ("ERROR", "CRITICAL") and not refused(r[2])]
    # The figures the README quotes: `pytest -s tests/contract/test_scim_conformance.py`.
    counts = Counter(status for _, status, _ in results)
    print(f"\nscim2-tester {resource_type}: {counts['SUCCESS']}/{len(results)} pass, {counts}")
    for title, status, reason in results:
        if status in ("ERROR", "CRITICAL"):
            print(f"  {status} {title}: {reason[:300]!r}")
    assert failed == []
