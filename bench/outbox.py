"""What events cost and how fast they go out, on the real processes (issue 21).

    .venv/bin/python -m bench.outbox [--seconds 20] [--concurrency 8] [--rounds 2]
                                     [--drain-events 20000] [--py-spy DIR]

Starts the four apps as real processes on free loopback ports with fresh SQLite
databases (migrated, seeded with the demo organisation), a local SMTP catcher and a
webhook receiver (in this process) subscribed to ``incident.decided``. Then:

1. **Decision CPU, events off vs on.** For ``--rounds`` rounds, alternately with every
   app's ``*_EVENTS_ENABLED=false`` and ``true`` (the apps restarted in between), reports
   are sent through the gateway by ``--concurrency`` clients for ``--seconds`` (after 5 s
   of the same, not counted, to warm the apps' caches); each is
   decided at once. With events on, the window ends only once every decision's webhook
   has arrived, so the intake, the inbox, the e-mails and the webhooks are all counted.
   CPU (user + system, ``/proc/PID/stat``) of the four apps per decision; goal: events
   add at most 10 %.
2. **Commit -> webhook.** For every decision of the events-on rounds: from the event's
   timestamp (set in the transaction that records the decision) to its arrival at the
   receiver; goal: p95 under 1 s.
3. **Drain rate.** ``--drain-events`` events written straight into incidents' outbox in
   one transaction; the time until the outbox is empty (handed to the gateway's intake
   and taken in); goal: at least 1,000 events/s.

``--py-spy DIR`` records each app with ``py-spy record -f raw`` during every measured
window (``DIR/round<N>-<on|off>-<app>.txt``), to see where the events' CPU goes.

Prints each figure and exits 1 when one misses its goal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

from bench.integrity import Stack, _migrate_and_seed, as_user, report_body
from bench.stack import machine, py_spy
from gateway.events.mailcatcher import MailCatcher
from incidents.db import outbox
from kit.db import Database, utcnow
from kit.demo import demo_person_id
from tests.support.databases import APPS, create_databases, drop_databases
from tests.support.processes import free_port
from tests.support.webhooks import WebhookReceiver

CPU_GOAL = 0.10
LATENCY_GOAL_SECONDS = 1.0
DRAIN_GOAL_PER_SECOND = 1000.0
SERVICES = ("training", "coaching", "incidents")
PEOPLE = (
    "emma.employee",
    "nina.engineer",
    "marc.manager",
    "olivia.owner",
    "carla.coach",
    "leo.legal",
)
TICKS = os.sysconf("SC_CLK_TCK")
WARM_UP_SECONDS = 5.0


def cpu_seconds(pids: list[int]) -> list[float]:
    """Each process's CPU seconds (user + system) so far."""
    found = []
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        found.append((int(fields[11]) + int(fields[12])) / TICKS)  # utime, stime (14, 15)
    return found


@dataclass
class Round:
    events: bool
    decisions: int
    per_app: list[float]

    @property
    def cpu_ms_per_decision(self) -> float:
        return 1000 * sum(self.per_app) / max(self.decisions, 1)

    def split(self) -> str:
        return ", ".join(
            f"{app} {1000 * cpu / max(self.decisions, 1):.1f}"
            for app, cpu in zip(APPS, self.per_app, strict=True)
        )


@contextlib.asynccontextmanager
async def running_stack(directory: Path, mail_port: int) -> AsyncIterator[tuple[Stack, str]]:
    databases = await asyncio.to_thread(
        create_databases, f"smp_bench_outbox_{os.getpid()}", directory
    )
    ports = {app: free_port() for app in APPS}
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
        GATEWAY_SMTP_PORT=str(mail_port),
        GATEWAY_WEBHOOK_ALLOW_HTTP="true",
        GATEWAY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES="true",
    )
    stack = Stack(env=env, ports=ports, logs=directory)
    await asyncio.to_thread(_migrate_and_seed, env)
    try:
        for app in APPS:
            stack.start(app)
        for app in APPS:
            await stack.ready(app, ports[app])
        yield stack, databases.urls["incidents"]
    finally:
        stack.stop()
        await asyncio.to_thread(drop_databases, databases)


async def restart(stack: Stack, *, events: bool) -> None:
    for app in APPS:
        stack.env[f"{app.upper()}_EVENTS_ENABLED"] = "true" if events else "false"
    for app in APPS:
        process = stack.processes[app]
        process.terminate()
        await asyncio.to_thread(process.wait, 30)
        stack.start(app)
    for app in APPS:
        await stack.ready(app, stack.ports[app])


async def report_load(stack: Stack, *, seconds: float, concurrency: int) -> int:
    people = [str(demo_person_id(name)) for name in PEOPLE]
    deadline = time.monotonic() + seconds
    decided = 0

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal decided
        while time.monotonic() < deadline:
            severity = random.choice(("low", "medium", "high"))
            body = report_body(random.choice(people), minutes_ago=60, severity=severity)
            response = await client.post("/api/v1/incidents", json=body)
            if response.status_code == 201 and response.json()["status"] == "decided":
                decided += 1

    async with contextlib.AsyncExitStack() as clients:
        reporters = [
            await clients.enter_async_context(as_user(stack, "ethan.lead"))
            for _ in range(concurrency)
        ]
        await asyncio.gather(*(client_loop(c) for c in reporters))
    return decided


async def measure_round(
    stack: Stack,
    receiver: WebhookReceiver,
    *,
    events: bool,
    seconds: float,
    concurrency: int,
    profile: tuple[Path, str] | None = None,
) -> Round:
    await restart(stack, events=events)
    pids = [stack.processes[app].pid for app in APPS]
    # Warm caches (compiled statements, connections) before anything is counted.
    before_received = len(receiver.accepted())
    warm = await report_load(stack, seconds=WARM_UP_SECONDS, concurrency=concurrency)
    await all_delivered(receiver, before_received + (warm if events else 0))
    directory, prefix = profile if profile else (None, "")
    with py_spy(dict(zip(APPS, pids, strict=True)), directory, prefix):
        before_cpu, before_received = cpu_seconds(pids), len(receiver.accepted())
        decisions = await report_load(stack, seconds=seconds, concurrency=concurrency)
        await all_delivered(receiver, before_received + (decisions if events else 0))
        after_cpu = cpu_seconds(pids)
    return Round(
        events=events,
        decisions=decisions,
        per_app=[after - before for after, before in zip(after_cpu, before_cpu, strict=True)],
    )


async def all_delivered(receiver: WebhookReceiver, count: int) -> None:
    deadline = time.monotonic() + 120
    while len(receiver.accepted()) < count:
        if time.monotonic() > deadline:
            raise TimeoutError("webhooks still missing after 120 s")
        await asyncio.sleep(0.02)


async def drain_rate(incidents_url: str, count: int) -> float:
    database = Database(incidents_url)
    table = outbox.table
    now = utcnow()
    rows = [
        {
            "id": uuid.uuid4(),
            "type": "incident.reported",
            "data": {"incident_id": str(uuid.uuid4()), "severity": "low", "category": "other"},
            "occurred_at": now,
            "attempts": 0,
            "next_attempt_at": now,
        }
        for _ in range(count)
    ]
    try:
        async with database.transaction() as session:
            await session.execute(insert(table), rows)
        started = time.monotonic()
        while True:
            async with database.transaction(write=False) as session:
                left = await session.scalar(select(func.count()).select_from(table))
            if not left:
                return count / (time.monotonic() - started)
            if time.monotonic() - started > 300:
                raise TimeoutError(f"{left} events still in the outbox after 300 s")
            await asyncio.sleep(0.02)
    finally:
        await database.dispose()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--drain-events", type=int, default=20000)
    parser.add_argument("--py-spy", type=Path, default=None, metavar="DIR")
    args = parser.parse_args()
    print(machine(), flush=True)
    os.environ.pop("TEST_POSTGRES_URL", None)
    with (
        tempfile.TemporaryDirectory() as directory,
        MailCatcher() as mail,
    ):
        async with (
            running_stack(Path(directory), mail.port) as (stack, incidents_url),
            WebhookReceiver().running() as receiver,
        ):
            async with as_user(stack, "grace.admin") as admin:
                subscribed = await admin.post(
                    "/api/v1/admin/webhooks",
                    json={"url": receiver.url, "event_types": ["incident.decided"]},
                )
            subscribed.raise_for_status()
            receiver.secrets.append(subscribed.json()["secret"])
            rounds = []
            for number in range(args.rounds):
                for events in (False, True):
                    measured = await measure_round(
                        stack,
                        receiver,
                        events=events,
                        seconds=args.seconds,
                        concurrency=args.concurrency,
                        profile=(
                            (args.py_spy, f"round{number + 1}-{'on' if events else 'off'}-")
                            if args.py_spy
                            else None
                        ),
                    )
                    rounds.append(measured)
                    print(
                        f"round {number + 1} events {'on ' if events else 'off'}: "
                        f"{measured.decisions} decisions, "
                        f"{measured.cpu_ms_per_decision:.2f} ms CPU per decision "
                        f"({measured.split()})",
                        flush=True,
                    )
            latencies = [
                r.wall - dt.datetime.fromisoformat(r.body["timestamp"]).timestamp()
                for r in receiver.accepted()
            ]
            rate = await drain_rate(incidents_url, args.drain_events)
    off = statistics.median(r.cpu_ms_per_decision for r in rounds if not r.events)
    on = statistics.median(r.cpu_ms_per_decision for r in rounds if r.events)
    added = on / off - 1
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    figures = [
        (
            f"decision CPU: {off:.2f} ms without events, {on:.2f} ms with (median of "
            f"{args.rounds}): +{100 * added:.1f} % (goal <= {100 * CPU_GOAL:.0f} %)",
            added <= CPU_GOAL,
        ),
        (
            f"commit -> webhook over {len(latencies)} decisions: p50 {1000 * p50:.0f} ms, "
            f"p95 {1000 * p95:.0f} ms, max {1000 * max(latencies):.0f} ms "
            f"(goal p95 < {1000 * LATENCY_GOAL_SECONDS:.0f} ms)",
            p95 < LATENCY_GOAL_SECONDS,
        ),
        (
            f"outbox drain: {args.drain_events} events at {rate:,.0f} events/s "
            f"(goal >= {DRAIN_GOAL_PER_SECOND:,.0f})",
            rate >= DRAIN_GOAL_PER_SECOND,
        ),
    ]
    for text, met in figures:
        print(f"{'ok  ' if met else 'MISS'} {text}")
    print(f"e-mails caught: {len(mail.messages)}")
    return 0 if all(met for _, met in figures) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
