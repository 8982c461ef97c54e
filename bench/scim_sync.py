"""An identity provider's initial sync through SCIM, as Entra ID runs one: for each user a
``GET /Users?filter=userName eq "..."`` (is it there?) then a ``POST /Users``, from several
connections at once, then the users added to a group in ``PATCH`` batches.

    .venv/bin/python -m bench.scim_sync [--users 10000] [--concurrency 8] [--postgres]
        [--scim-rate 200 --scim-burst 1000]

Starts the gateway as a real process (``python -m gateway serve``) on a free loopback port,
on a fresh database (SQLite, or PostgreSQL with ``--postgres`` or ``TEST_POSTGRES_URL``),
migrated and seeded, with its default limits (SCIM's budget: ``GATEWAY_SCIM_RATE_LIMIT_*``),
and creates an API client with the ``scim`` scope.

Target: the sync finishes with every user and membership created and no request throttled
(429) or failed, within ``--max-minutes``. Prints the figures and exits 1 when it misses.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.stack import machine
from tests.support.databases import POSTGRES_ENV, create_databases, drop_databases
from tests.support.processes import started_processes

LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MEMBER_BATCH = 100


def user(number: int) -> dict[str, object]:
    name = f"sync.user{number:06d}@northwind.example"
    return {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "externalId": f"entra-{number:06d}",
        "name": {"givenName": "Sync", "familyName": f"User {number}"},
        "displayName": f"Sync User {number}",
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
    }


async def sync(
    base: str, secret: str, users: int, concurrency: int
) -> tuple[Counter[int], list[str]]:
    statuses: Counter[int] = Counter()
    ids: list[str] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(users):
        queue.put_nowait(number)
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/scim+json"}

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            number = queue.get_nowait()
            body = user(number)
            found = await client.get(
                "/scim/v2/Users", params={"filter": f'userName eq "{body["userName"]}"'}
            )
            statuses[found.status_code] += 1
            created = await client.post("/scim/v2/Users", json=body)
            statuses[created.status_code] += 1
            if created.status_code == 201:
                ids.append(created.json()["id"])

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        group = await client.post(
            "/scim/v2/Groups", json={"schemas": [GROUP_SCHEMA], "displayName": "All staff"}
        )
        statuses[group.status_code] += 1
        group_id = group.json()["id"]
        for start in range(0, len(ids), MEMBER_BATCH):
            batch = ids[start : start + MEMBER_BATCH]
            patched = await client.patch(
                f"/scim/v2/Groups/{group_id}",
                json={
                    "schemas": [PATCH_SCHEMA],
                    "Operations": [
                        {"op": "add", "path": "members", "value": [{"value": i} for i in batch]}
                    ],
                },
            )
            statuses[patched.status_code] += 1
    return statuses, ids


async def run(args: argparse.Namespace) -> int:
    if args.postgres and not os.environ.get(POSTGRES_ENV):
        os.environ[POSTGRES_ENV] = LOCAL_POSTGRES
    with tempfile.TemporaryDirectory() as directory:
        databases = create_databases("bench_scim", Path(directory))
        try:
            settings = {}
            if args.scim_rate is not None:
                settings["GATEWAY_SCIM_RATE_LIMIT_PER_SECOND"] = str(args.scim_rate)
            if args.scim_burst is not None:
                settings["GATEWAY_SCIM_RATE_LIMIT_BURST"] = str(args.scim_burst)
            async with started_processes(
                databases, Path(directory), apps=["gateway"], settings=settings
            ) as stack:
                token = stack.command("gateway", "token", "--user", "grace.admin")
                async with httpx.AsyncClient(base_url=stack.url("gateway"), timeout=60) as admin:
                    created = await admin.post(
                        "/api/v1/admin/api-clients",
                        headers={"Authorization": f"Bearer {token}"},
                        json={"name": "Entra provisioning", "scopes": ["scim"]},
                    )
                    created.raise_for_status()
                started = time.perf_counter()
                statuses, ids = await sync(
                    stack.url("gateway"), created.json()["secret"], args.users, args.concurrency
                )
                seconds = time.perf_counter() - started
        finally:
            drop_databases(databases)
    requests = sum(statuses.values())
    throttled = statuses.get(429, 0)
    failed = sum(n for status, n in statuses.items() if status >= 400)
    print(f"database: {databases.backend}; users: {args.users}; concurrency: {args.concurrency}")
    print(f"requests: {requests}; statuses: {dict(sorted(statuses.items()))}")
    print(f"sync time: {seconds:.1f} s ({requests / seconds:.1f} requests/s)")
    print(f"users created: {len(ids)}; throttled (429): {throttled}; failed: {failed}")
    missed = []
    if len(ids) != args.users:
        missed.append(f"{args.users - len(ids)} users not created")
    if throttled or failed:
        missed.append(f"{throttled} throttled and {failed} failed requests")
    if seconds > args.max_minutes * 60:
        missed.append(f"took {seconds:.0f} s, over {args.max_minutes} min")
    print("MISSED: " + "; ".join(missed) if missed else "OK: finished under SCIM's budget")
    return 1 if missed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-minutes", type=float, default=20.0)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--scim-rate", type=float, help="GATEWAY_SCIM_RATE_LIMIT_PER_SECOND (default: the app's)"
    )
    parser.add_argument("--scim-burst", type=int, help="GATEWAY_SCIM_RATE_LIMIT_BURST")
    args = parser.parse_args()
    print(machine(), flush=True)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
