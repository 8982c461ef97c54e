"""Every incidents list, flat as the table grows: what issue 16 measured.

    .venv/bin/python -m bench.lists [--postgres] [--sizes 10000,100000,1000000] [--runs 15]

Starts, for each size, the four apps as real processes (``python -m <app> serve``) on free
loopback ports, each on a fresh database of its own (SQLite files, or PostgreSQL databases
with ``--postgres``, ``TEST_POSTGRES_URL`` or the local server), migrated and seeded, all
the stacks at once. Each stack's incidents table is grown to its size with set-based inserts
(``INSERT ... SELECT`` over a generated series: no row goes through Python), each incident
with an owner assignment to HR. Then it times as HR, through the gateway, the p50 of
``--runs`` requests of each query, one request to each size in turn (so that every size
sees the machine as it is at that moment):

* ``GET /api/v1/incidents`` unfiltered and with each filter it offers (``status``,
  ``severity``, ``category``, ``person_id``, ``owner_role``, ``owner_id``, ``overdue``),
* ``GET /api/v1/incidents/my-actions``,

each as the first page and as a deep page (the cursor of the row in the middle of the
table). The grown history is what an organisation accumulates: most incidents resolved or
dismissed, one in seven still decided or in progress (and past its deadline), severities,
categories and 5 000 people evenly spread over time.

Target: at the largest size, every query answers within 1.5x its time at the smallest
size. Prints the figures and exits 1 when a query misses it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bench.stack import BenchStack, add_postgres_option, bench_stack, choose_backend, machine
from gateway.auth import sign_dev_token
from gateway.config import GatewaySettings
from incidents.incident.models import Incident
from kit.demo import demo_person_id
from kit.pagination import encode_cursor
from tests.support.processes import RunningStack

TARGET_RATIO = 1.5
# Requests before each timed series: the first ones pay for statement caches and pages.
WARM_UP = 3
INCIDENTS = "/api/v1/incidents"
MY_ACTIONS = "/api/v1/incidents/my-actions"
PEOPLE = 5000
# Seconds between two grown incidents: a million reach back about two years.
SPACING_SECONDS = 60

# One row of the grown history per series number ``i`` (SQL shared by both databases).
_COLUMNS = (
    "id, person_id, reporter_id, channel, links, occurred_at, category, clauses, "
    "description, severity, status, outcome, decision_id, action, owner_role, owner_id, "
    "deadline_at, remedial_engagement_id, suspends_ambassador, created_at, updated_at, "
    "closed_at, version"
)
_STATUS = (
    "CASE WHEN i % 14 = 0 THEN 'decided' WHEN i % 14 = 1 THEN 'in_progress' "
    "WHEN i % 14 = 2 THEN 'dismissed' ELSE 'resolved' END"
)
_CATEGORY = (
    "CASE i % 7 WHEN 0 THEN 'confidential_information' WHEN 1 THEN 'harassment_or_hate' "
    "WHEN 2 THEN 'speaking_without_mandate' WHEN 3 THEN 'misleading_claims' "
    "WHEN 4 THEN 'privacy_of_others' WHEN 5 THEN 'inappropriate_content' ELSE 'other' END"
)
_SEVERITY = (
    "CASE i % 4 WHEN 0 THEN 'low' WHEN 1 THEN 'medium' WHEN 2 THEN 'high' ELSE 'critical' END"
)
_OUTCOME = "CASE WHEN i % 14 > 2 THEN 'violation_confirmed' ELSE NULL END"
# The person_id filter's person (number 42) is the subject of one incident in 53 besides
# their share: a full page at every size (188 at 10k), so that the sizes compare pages of the
# same length; 53 is prime to the status, category and severity cycles.
PERSON_NUMBER = 42
_PERSON = f"CASE WHEN i % 53 = 0 THEN {PERSON_NUMBER} ELSE i % {PEOPLE} END"
_GROW = {
    "sqlite": """
WITH RECURSIVE n(i) AS (SELECT :start UNION ALL SELECT i + 1 FROM n WHERE i < :stop),
t(i, at) AS (SELECT i, strftime('%Y-%m-%d %H:%M:%S', :base, '-' || (i * {spacing}) || ' seconds')
             || '.000000' FROM n)
INSERT INTO incidents ({columns})
SELECT lower(hex(randomblob(16))), printf('%032x', {person}),
       printf('%032x', {people} + i % 97), 'linkedin', '[]',
       at, {category}, '[]', 'Grown by bench.lists.', {severity}, {status}, {outcome}, NULL,
       'hr_review', 'hr', NULL,
       strftime('%Y-%m-%d %H:%M:%S', at, '+72 hours') || '.000000', NULL, 0, at, at,
       CASE WHEN i % 14 > 1 THEN at ELSE NULL END, 1
FROM t
""",
    "postgresql": """
WITH t AS (SELECT i, CAST(:base AS timestamptz) - make_interval(secs => i * {spacing}) AS at
           FROM generate_series(CAST(:start AS bigint), CAST(:stop AS bigint)) AS i)
INSERT INTO incidents ({columns})
SELECT gen_random_uuid(), CAST(lpad(to_hex({person}), 32, '0') AS uuid),
       CAST(lpad(to_hex({people} + i % 97), 32, '0') AS uuid), 'linkedin', '[]',
       at, {category}, '[]', 'Grown by bench.lists.', {severity}, {status}, {outcome}, NULL,
       'hr_review', 'hr', NULL, at + interval '72 hours', NULL, false, at, at,
       CASE WHEN i % 14 > 1 THEN at ELSE NULL END, 1
FROM t
""",
}
_ASSIGN = {
    "sqlite": "lower(hex(randomblob(16)))",
    "postgresql": "gen_random_uuid()",
}
_ASSIGN_SQL = """
INSERT INTO incident_assignments (id, incident_id, kind, person_id, role)
SELECT {new_id}, id, 'owner', NULL, 'hr' FROM incidents
WHERE description = 'Grown by bench.lists.' AND created_at <= :newest AND created_at >= :oldest
"""


@dataclass(frozen=True)
class Query:
    name: str
    path: str
    params: dict[str, str | list[str]]
    # Sort key of the list (for the deep page's cursor) and whether it runs newest first.
    deadline_order: bool = False


def queries(person: uuid.UUID, hr: uuid.UUID) -> list[Query]:
    return [
        Query("all", INCIDENTS, {}),
        Query("status=decided", INCIDENTS, {"status": "decided"}),
        Query("status=decided&in_progress", INCIDENTS, {"status": ["decided", "in_progress"]}),
        Query("severity=high", INCIDENTS, {"severity": "high"}),
        Query("category=harassment", INCIDENTS, {"category": "harassment_or_hate"}),
        Query("person_id", INCIDENTS, {"person_id": str(person)}),
        Query("owner_role=hr", INCIDENTS, {"owner_role": "hr"}),
        Query("owner_id", INCIDENTS, {"owner_id": str(hr)}),
        Query("overdue=true", INCIDENTS, {"overdue": "true"}),
        Query("overdue=false", INCIDENTS, {"overdue": "false"}),
        Query("my-actions", MY_ACTIONS, {}, deadline_order=True),
    ]


async def grow(engine: AsyncEngine, *, have: int, want: int, base: dt.datetime) -> None:
    """Grown rows ``have+1 .. want``, in set-based inserts of at most 200 000 rows."""
    dialect = engine.dialect.name
    statement = _GROW[dialect].format(
        columns=_COLUMNS,
        spacing=SPACING_SECONDS,
        people=PEOPLE,
        category=_CATEGORY,
        severity=_SEVERITY,
        status=_STATUS,
        outcome=_OUTCOME,
        person=_PERSON,
    )
    base_value: Any = base.replace(tzinfo=None).isoformat(" ") if dialect == "sqlite" else base
    for start in range(have + 1, want + 1, 200_000):
        stop = min(want, start + 199_999)
        async with engine.begin() as connection:
            await connection.execute(
                text(statement), {"start": start, "stop": stop, "base": base_value}
            )
            newest = base - dt.timedelta(seconds=start * SPACING_SECONDS)
            oldest = base - dt.timedelta(seconds=stop * SPACING_SECONDS)
            bounds: dict[str, Any] = {"newest": newest, "oldest": oldest}
            if dialect == "sqlite":
                bounds = {k: v.replace(tzinfo=None).isoformat(" ") for k, v in bounds.items()}
            await connection.execute(
                text(_ASSIGN_SQL.format(new_id=_ASSIGN[dialect])),
                bounds,
            )
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))


async def middle_cursor(engine: AsyncEngine, query: Query, total: int) -> str:
    """The cursor of the row in the middle of the unfiltered order."""
    if query.deadline_order:
        keys = [col(Incident.deadline_at), col(Incident.id)]
        statement = select(*keys).where(col(Incident.deadline_at).is_not(None)).order_by(*keys)
    else:
        keys = [col(Incident.created_at), col(Incident.id)]
        statement = select(*keys).order_by(*(k.desc() for k in keys))
    async with engine.connect() as connection:
        row = (await connection.execute(statement.offset(total // 2).limit(1))).one()
    return encode_cursor(list(row))


def cpu_ns(pids: Sequence[int]) -> int:
    """CPU time the processes spent so far, every thread (SQLite's work runs in one of
    its own), in nanoseconds: the first field of each task's ``schedstat``."""
    total = 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):  # a thread that just ended
                total += int((task / "schedstat").read_text().split()[0])
    return total


@dataclass(frozen=True)
class Target:
    """One request to time: a list with its parameters on one stack."""

    client: httpx.AsyncClient
    path: str
    params: Any
    headers: dict[str, str] | None = None
    # The processes whose CPU time it costs (the gateway and the service).
    pids: Sequence[int] = ()


async def timed_in_turn(targets: Sequence[Target], runs: int) -> list[tuple[float, float]]:
    """The p50 of ``runs`` requests to each target, one request to each in turn, after
    ``WARM_UP`` such rounds not counted: wall time, and the CPU time the target's ``pids``
    (the gateway and the service) spent on each, in ms. On a shared machine the CPU figure
    holds still while the wall time follows the other work on the cores; targets timed in
    turn see the same machine, whose speed drifts over minutes, where targets timed one
    after the other did not."""
    times: list[list[float]] = [[] for _ in targets]
    cpu: list[list[float]] = [[] for _ in targets]
    for run in range(WARM_UP + runs):
        for number, target in enumerate(targets):
            started, spent = time.perf_counter(), cpu_ns(target.pids)
            response = await target.client.get(
                target.path, params=target.params, headers=target.headers
            )
            if run >= WARM_UP:
                times[number].append((time.perf_counter() - started) * 1000)
                cpu[number].append((cpu_ns(target.pids) - spent) / 1e6)
            if response.status_code != 200:
                raise RuntimeError(
                    f"{target.path} {target.params}: {response.status_code} {response.text[:300]}"
                )
    return [
        (statistics.median(wall), statistics.median(spent))
        for wall, spent in zip(times, cpu, strict=True)
    ]


Figures = dict[tuple[str, str], dict[int, float]]


def file_figures(
    wall: Figures, cpu: Figures, key: tuple[str, str], sizes: list[int], figures: list[Any]
) -> None:
    """``timed_in_turn``'s answer for the targets of ``key`` (query, page), one per size."""
    for size, (spent_wall, spent_cpu) in zip(sizes, figures, strict=True):
        wall.setdefault(key, {})[size] = spent_wall
        cpu.setdefault(key, {})[size] = spent_cpu


async def run(sizes: list[int], runs: int) -> int:
    hr = demo_person_id("hannah.hr")
    token = sign_dev_token(GatewaySettings(), person_id=hr)
    person = uuid.UUID(int=PERSON_NUMBER)
    base = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    # A stack of its own for each size, all running at once, and each request timed on
    # every size in turn: the machine's speed drifts over minutes (by a fifth on the VM
    # of 2026-12-04), and sizes timed one after the other saw different machines.
    async with contextlib.AsyncExitStack() as exits:
        stacks: list[tuple[BenchStack, httpx.AsyncClient]] = []
        for size in sizes:
            bench = await exits.enter_async_context(bench_stack(f"lists_{size}"))
            started = time.monotonic()
            await grow(bench.incidents, have=0, want=size, base=base)
            print(f"grown to {size} rows in {time.monotonic() - started:.1f} s", flush=True)
            client = httpx.AsyncClient(
                base_url=bench.stack.url("gateway"),
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
            exits.push_async_callback(client.aclose)
            stacks.append((bench, client))
        backend = stacks[0][0].backend
        print(f"backend: {backend}; p50 of {runs} requests to each size in turn, ms", flush=True)
        table: Figures = {}
        cpu: Figures = {}
        for query in queries(person, hr):
            cursors = [
                await middle_cursor(bench.incidents, query, size)
                for (bench, _), size in zip(stacks, sizes, strict=True)
            ]
            for page in ("first", "deep"):
                targets = [
                    Target(
                        client,
                        query.path,
                        query.params if page == "first" else {**query.params, "cursor": cursor},
                        pids=serving(bench.stack, "incidents"),
                    )
                    for (bench, client), cursor in zip(stacks, cursors, strict=True)
                ]
                figures = await timed_in_turn(targets, runs)
                file_figures(table, cpu, (query.name, page), sizes, figures)
    verdict = report(table, sizes)
    report_cpu(cpu, sizes)
    return verdict


def serving(stack: RunningStack, service: str) -> list[int]:
    """The processes a request to ``service``'s lists runs in: the gateway and it."""
    return [stack.processes[app].pid for app in ("gateway", service)]


def report_cpu(cpu: Figures, sizes: list[int]) -> None:
    """The same table in CPU time of the gateway and the service per request: what to
    read when the machine is shared (the wall times above decide the exit status)."""
    print("CPU time of the gateway and the service per request, p50 ms:")
    report(cpu, sizes)


def report(table: Figures, sizes: list[int]) -> int:
    smallest, largest = sizes[0], sizes[-1]
    header = " ".join(f"{size:>9}" for size in sizes)
    print(f"{'query':<30} {'page':<5} {header}   ratio  target <= {TARGET_RATIO}x")
    missed = []
    for (name, page), figures in table.items():
        ratio = figures[largest] / figures[smallest]
        ok = ratio <= TARGET_RATIO
        if not ok:
            missed.append(f"{name} ({page})")
        cells = " ".join(f"{figures[size]:>9.1f}" for size in sizes)
        print(f"{name:<30} {page:<5} {cells}   {ratio:5.2f}  {'ok' if ok else 'MISSED'}")
    if missed:
        print(f"MISSED: {', '.join(missed)}")
        return 1
    print("all lists within target")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_postgres_option(parser)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(machine(), flush=True)
    choose_backend(args)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    sys.exit(asyncio.run(run(sizes, args.runs)))


if __name__ == "__main__":
    main()
