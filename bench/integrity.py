"""The escalation decision under faults, on the real processes: what issue 15 measured.

    .venv/bin/python -m bench.integrity [--postgres] [--reports 30] [--keys 200] [--kills 3]

Starts the four apps as real processes (``python -m <app> serve``) on free loopback ports,
each on a fresh database (SQLite files, or PostgreSQL databases with ``--postgres``),
migrated and seeded with the demo organisation, plus a second incidents process on the same
database. Then, through the HTTP API only (so it runs against any version):

1. **Concurrent reports about one person.** The person has completed remedial coaching;
   ``--reports`` reports about posts one minute apart are sent at once, alternately to the
   two incidents processes. Once nothing is left to decide, the decisions in force must
   count 0..N-1 prior incidents in the order of the posts, and so escalate as the scheme
   says (the first coaching, the second an HR review, the others a disciplinary review).
2. **kill -9 during keyed reports.** ``--keys`` reports with an ``Idempotency-Key`` each,
   16 at a time, while the incidents process behind the gateway is killed (SIGKILL)
   ``--kills`` times and started again; every key is retried until answered (for up to
   150 s). Every key must be answered, with exactly one incident per key (each report's
   link names its key).
3. **A hung coaching.** Coaching is frozen (SIGSTOP: it accepts connections and never
   answers); reports that need coaching history must still be answered within a second.
   Then it is thawed: the time until those reports are decided is printed.

Prints each figure and exits 1 when a property does not hold.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.stack import machine
from gateway.auth import sign_dev_token
from gateway.config import GatewaySettings
from kit.demo import demo_person_id
from kit.identity import InternalTokenSigner, PrincipalKind
from kit.settings import DEV_INTERNAL_TOKEN_SECRET
from tests.support.databases import APPS, create_databases, drop_databases
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[1]
ANSWER_WITHIN_SECONDS = 1.0
SETTLE_SECONDS = 120.0
RETRYABLE = (409, 502, 503, 504)
# Longer than any lease a crashed request's key could still hold.
KEYED_RETRY_SECONDS = 150.0


@dataclass
class Stack:
    env: dict[str, str]
    ports: dict[str, int]
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, app: str) -> str:
        return f"http://127.0.0.1:{self.ports[app]}"

    def start(self, name: str, app: str | None = None, port: int | None = None) -> None:
        env = dict(self.env)
        if port is not None:
            env[f"{(app or name).upper()}_PORT"] = str(port)
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", app or name, "serve"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    async def ready(self, name: str, port: int) -> None:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited; see {self.logs}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{name} not ready; see {self.logs}")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)


@contextlib.asynccontextmanager
async def running_stack(directory: Path) -> AsyncIterator[Stack]:
    prefix = f"smp_bench_integrity_{os.getpid()}"
    databases = await asyncio.to_thread(create_databases, prefix, directory)
    ports = {app: free_port() for app in APPS} | {"incidents-2": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "TRAINING_"))}
    for app in APPS:
        env[f"{app.upper()}_DATABASE_URL"] = databases.urls[app]
        env[f"{app.upper()}_PORT"] = str(ports[app])
        env[f"{app.upper()}_LOG_LEVEL"] = "WARNING"
        env[f"{app.upper()}_ACCESS_LOG"] = "false"
        if app != "gateway":
            env[f"{app.upper()}_GATEWAY_URL"] = f"http://127.0.0.1:{ports['gateway']}"
            env[f"GATEWAY_{app.upper()}_URL"] = f"http://127.0.0.1:{ports[app]}"
    env.update(
        GATEWAY_RATE_LIMIT_PER_SECOND="100000",
        GATEWAY_RATE_LIMIT_BURST="100000",
        INCIDENTS_RETRY_BASE_SECONDS="1",
        INCIDENTS_WORKER_POLL_SECONDS="1",
    )
    stack = Stack(env=env, ports=ports, logs=directory)
    await asyncio.to_thread(_migrate_and_seed, env)
    try:
        for app in APPS:
            stack.start(app)
        stack.start("incidents-2", app="incidents", port=ports["incidents-2"])
        for name in (*APPS, "incidents-2"):
            await stack.ready(name, ports[name])
        yield stack
    finally:
        stack.stop()
        await asyncio.to_thread(drop_databases, databases)


def _migrate_and_seed(env: dict[str, str]) -> None:
    for app in APPS:
        for command in ("migrate", "seed"):
            subprocess.run(
                [sys.executable, "-m", app, command],
                env=env,
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )


# -- clients ----------------------------------------------------------------------------------


def as_user(stack: Stack, user_name: str) -> httpx.AsyncClient:
    token = sign_dev_token(GatewaySettings(), person_id=demo_person_id(user_name))
    return httpx.AsyncClient(
        base_url=stack.url("gateway"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def straight_to(stack: Stack, name: str, user_name: str) -> httpx.AsyncClient:
    """To one incidents process, with the internal token the gateway would sign."""
    token = InternalTokenSigner(DEV_INTERNAL_TOKEN_SECRET, lifetime_seconds=60).sign(
        audience="incidents", subject=str(demo_person_id(user_name)), kind=PrincipalKind.USER
    )
    return httpx.AsyncClient(
        base_url=stack.url(name), headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def report_body(person: str, *, minutes_ago: float, severity: str = "medium") -> dict[str, Any]:
    occurred = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    return {
        "person_id": person,
        "channel": "linkedin",
        "links": [f"https://www.linkedin.com/posts/{uuid.uuid4().hex}"],
        "occurred_at": occurred.isoformat(),
        "category": "confidential_information",
        "description": "Posted figures that were not public yet.",
        "severity": severity,
    }


async def until(what: str, check: Callable[[], Awaitable[bool]], seconds: float) -> float:
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > seconds:
            raise TimeoutError(f"still waiting after {seconds} s for {what}")
        await asyncio.sleep(0.25)
    return time.monotonic() - started


async def incidents_about(hr: httpx.AsyncClient, person: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"person_id": person, "limit": 200}
    while True:
        page = (await hr.get("/api/v1/incidents", params=params)).json()
        items += page["items"]
        if not page["next_cursor"]:
            return items
        params["cursor"] = page["next_cursor"]


async def give_completed_remedial(stack: Stack, person: str) -> None:
    """A remedial engagement for ``person``, run to completion by Carla (the demo coach)."""
    async with as_user(stack, "hannah.hr") as hr, as_user(stack, "carla.coach") as coach:
        created = await hr.post(
            "/api/v1/coaching/engagements",
            json={
                "coachee_id": person,
                "track": "remedial",
                "source": "manager_referral",
                "goals": "Go through the confidentiality clauses.",
            },
        )
        engagement = created.json()
        carla = (await hr.get("/api/v1/coaching/coaches", params={"limit": 200})).json()
        coach_id = next(c["id"] for c in carla["items"] if c["display_name"] == "Carla Jensen")
        url = f"/api/v1/coaching/engagements/{engagement['id']}"
        step = await hr.put(
            f"{url}/coach",
            json={"coach_id": coach_id},
            headers={"If-Match": created.headers["ETag"]},
        )
        step = await coach.post(f"{url}/start", headers={"If-Match": step.headers["ETag"]})
        step = await coach.post(
            f"{url}/complete",
            json={"outcome": "goals_met"},
            headers={"If-Match": step.headers["ETag"]},
        )
        if step.status_code != 200:
            raise RuntimeError(f"could not complete the remedial engagement: {step.text}")


# -- the three measurements -------------------------------------------------------------------


async def concurrent_reports(stack: Stack, reports: int) -> bool:
    person = str(demo_person_id("nina.engineer"))
    await give_completed_remedial(stack, person)
    clients = [straight_to(stack, name, "marc.manager") for name in ("incidents", "incidents-2")]
    bodies = [report_body(person, minutes_ago=reports - i) for i in range(reports)]
    started = time.monotonic()
    answers = await asyncio.gather(
        *(clients[i % 2].post("/api/v1/incidents", json=b) for i, b in enumerate(bodies))
    )
    answered = time.monotonic() - started
    for client in clients:
        await client.aclose()
    ids = [a.json()["id"] for a in answers if a.status_code == 201]
    async with as_user(stack, "hannah.hr") as hr:

        async def settled() -> bool:
            details = [(await hr.get(f"/api/v1/incidents/{i}")).json() for i in ids]
            return all(d["status"] == "decided" for d in details)

        await until("every report decided", settled, SETTLE_SECONDS)
        await asyncio.sleep(3)  # recounts queued by the last decisions
        await until("every report decided", settled, SETTLE_SECONDS)
        decided = [(await hr.get(f"/api/v1/incidents/{i}")).json() for i in ids]
    counts = [d["decision"]["facts"]["prior_incidents"]["365"] for d in decided]
    actions = [d["decision"]["action"] for d in decided]
    expected_actions = ["coaching", "hr_review"] + ["disciplinary_review"] * (reports - 2)
    print(f"1. {reports} concurrent reports about one person, into 2 incidents processes")
    print(f"   answered: {len(ids)} x 201 of {reports} in {answered:.1f} s")
    print(f"   distinct prior-incident counts: {len(set(counts))} (want {reports})")
    print(f"   counts exactly 0..N-1 in post order: {counts == list(range(reports))}")
    right = sum(a == e for a, e in zip(actions, expected_actions, strict=True))
    print(f"   actions as the scheme says: {right} of {reports}")
    return len(ids) == reports and counts == list(range(reports)) and right == reports


async def kill_9_during_keyed_reports(stack: Stack, keys: int, kills: int) -> bool:
    person = str(demo_person_id("tom.support"))
    pending = asyncio.Semaphore(16)
    outcomes: dict[str, str] = {}

    async def keyed(client: httpx.AsyncClient, key: str, body: dict[str, Any]) -> None:
        async with pending:
            deadline = time.monotonic() + KEYED_RETRY_SECONDS
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.TransportError):
                    answer = await client.post(
                        "/api/v1/incidents", json=body, headers={"Idempotency-Key": key}
                    )
                    if answer.status_code not in RETRYABLE:
                        outcomes[key] = str(answer.status_code)
                        return
                await asyncio.sleep(0.2)
            outcomes[key] = "gave up"

    async def killer() -> None:
        for _ in range(kills):
            await asyncio.sleep(random.uniform(0.5, 2.0))
            stack.processes["incidents"].send_signal(signal.SIGKILL)
            await asyncio.to_thread(stack.processes["incidents"].wait)
            stack.start("incidents")
            await stack.ready("incidents", stack.ports["incidents"])

    bodies = {f"bench-{uuid.uuid4()}": report_body(person, minutes_ago=i) for i in range(keys)}
    link_of = {key: body["links"][0] for key, body in bodies.items()}
    started = time.monotonic()
    async with as_user(stack, "marc.manager") as reporter:
        await asyncio.gather(killer(), *(keyed(reporter, k, b) for k, b in bodies.items()))
    took = time.monotonic() - started
    async with as_user(stack, "hannah.hr") as hr:
        listed = await incidents_about(hr, person)
        links = [
            (await hr.get(f"/api/v1/incidents/{item['id']}")).json()["links"][0] for item in listed
        ]
    made = {key: links.count(link) for key, link in link_of.items()}
    answered = sum(outcome == "201" for outcome in outcomes.values())
    print(f"2. {keys} keyed reports, incidents killed (SIGKILL) {kills} times meanwhile")
    print(
        f"   every key answered 201 (retrying for up to {KEYED_RETRY_SECONDS:.0f} s): "
        f"{answered} of {keys} in {took:.0f} s"
    )
    print(
        f"   keys with two or more incidents: {sum(n > 1 for n in made.values())}; "
        f"keys with none: {sum(n == 0 for n in made.values())}"
    )
    return answered == keys and all(n == 1 for n in made.values())


async def hung_coaching(stack: Stack, reports: int = 8) -> bool:
    person = str(demo_person_id("emma.employee"))
    coaching = stack.processes["coaching"]
    async with as_user(stack, "marc.manager") as reporter, as_user(stack, "hannah.hr") as hr:
        first = await reporter.post(
            "/api/v1/incidents", json=report_body(person, minutes_ago=600, severity="low")
        )
        assert first.status_code == 201, first.text
        coaching.send_signal(signal.SIGSTOP)
        timings, ids = [], []
        try:
            for i in range(reports):
                started = time.monotonic()
                answer = await reporter.post(
                    "/api/v1/incidents", json=report_body(person, minutes_ago=reports - i)
                )
                timings.append(time.monotonic() - started)
                ids.append(answer.json().get("id"))
        finally:
            coaching.send_signal(signal.SIGCONT)
        thawed = time.monotonic()

        async def decided() -> bool:
            details = [(await hr.get(f"/api/v1/incidents/{i}")).json() for i in ids if i]
            return all(d["status"] == "decided" for d in details)

        settled = await until("the waiting reports decided", decided, SETTLE_SECONDS)
    print(f"3. coaching frozen (SIGSTOP), {reports} reports that need its history")
    print(
        f"   answer time: median {statistics.median(timings) * 1000:.0f} ms, "
        f"max {max(timings) * 1000:.0f} ms (want < {ANSWER_WITHIN_SECONDS * 1000:.0f} ms)"
    )
    print(f"   decided {settled:.1f} s after coaching came back ({time.monotonic() - thawed:.1f})")
    return max(timings) < ANSWER_WITHIN_SECONDS and all(ids)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--reports", type=int, default=30)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--kills", type=int, default=3)
    args = parser.parse_args()
    print(machine(), flush=True)
    if args.postgres:
        os.environ.setdefault(
            "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        )
    else:
        os.environ.pop("TEST_POSTGRES_URL", None)
    with tempfile.TemporaryDirectory() as directory:
        async with running_stack(Path(directory)) as stack:
            results = [
                await concurrent_reports(stack, args.reports),
                await kill_9_during_keyed_reports(stack, args.keys, args.kills),
                await hung_coaching(stack),
            ]
    print("all held" if all(results) else "NOT ALL HELD")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
