"""Training's and coaching's lists, flat as their tables grow: ``bench/lists.py`` for the
other two services (issue 16).

    .venv/bin/python -m bench.lists_services [--postgres] [--sizes 10000,100000,1000000]
        [--runs 15] [--service training,coaching]

Starts, for each size, the four apps as real processes on fresh databases of their own (as
``bench.lists``; training's reconciliation off, so that it does not close the grown
assignments of people the directory does not know), all the stacks at once. Each stack's
tables are grown to its size with set-based inserts (``INSERT ... SELECT`` over a generated
series, no row through Python):

* training: ``assignments`` to that many rows (5 000 people, the seeded modules, eight
  departments; each with a progress row for eight in ten: seven completed, one started; of
  the two never started one closed, superseded or left; due 30 days after assignment, so
  the recent ones are still on time, or one in three the next day, so that the overdue
  filters have a full page at every size), and ``acknowledgements`` to that many rows of the
  current policy version;
* coaching: ``engagements`` to that many rows (5 000 coachees, one of them, the
  ``coachee_id`` filter's, with one in 53 besides: a full page at every size; the seeded
  coaches; one in twenty still proposed, one in twenty active, the rest completed or
  cancelled; four sources, three tracks).

Then it times as HR, through the gateway, the p50 of ``--runs`` requests of each list with
each filter it offers, first page and a deep page (the cursor of the row in the middle of
the list's unfiltered order), one request to each size in turn, so that every size sees the
machine as it is at that moment (its speed here drifts by a fifth over minutes):

* ``GET /api/v1/training/assignments`` (``module_id``, ``person_id``, ``department``, each
  ``status``, ``department`` with ``status=overdue``), ``/api/v1/training/me/assignments``
  (as an employee with one in 11 of the rows, all due the next day, also the
  ``person_id`` filter's person: a full page at every size, overdue too; also
  ``status=completed`` and ``overdue``); ``module_id`` asks for the module of the newest
  rows (a full page at every size, the deep one too),
  ``/api/v1/training/reports/acknowledgements/people`` (first page: the directory's order);
* ``GET /api/v1/coaching/engagements`` (``coachee_id``, ``coach_id``, ``track``, ``status``),
  ``/api/v1/coaching/candidates`` (``reason`` for coaching's own two, and ``department``).

Training's assignment lists are also timed in process, on the grown database
(``training.assignments.service.list_assignments``: the statement, the page's module titles
and progress, no HTTP, no other work of the process): the query's own cost, which the
figures through the gateway hide on a loaded machine; on SQLite as the CPU time it costs
(steady when other work shares the cores), on PostgreSQL as wall time.

Training's reminders and retention jobs are off, like its reconciliation: the grown rows are
a made-up history with a hundred thousand overdue assignments nobody was told about, and a
job's rounds over them (a thousand notices per rule and round, with their events) are not
what this bench times.

Target: at the largest size every query answers within 1.5x its time at the smallest.
Prints the figures and exits 1 when a query misses it.
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
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench.lists import (
    PEOPLE,
    SPACING_SECONDS,
    WARM_UP,
    Figures,
    Target,
    file_figures,
    report,
    report_cpu,
    serving,
    timed_in_turn,
)
from bench.stack import BenchStack, add_postgres_option, bench_stack, choose_backend, machine
from coaching.candidates.service import Position, Segment, encode_position
from gateway.auth import sign_dev_token
from gateway.config import GatewaySettings
from kit.db import Database
from kit.demo import demo_person_id
from kit.pagination import PageParams, encode_cursor
from training.assignments.schemas import ProgressStatus
from training.assignments.service import list_assignments

TRAINING = "/api/v1/training"
COACHING = "/api/v1/coaching"
DEPARTMENTS = ("Sales", "Marketing", "Engineering", "Finance", "Legal", "HR", "Support", "Ops")
# One employee of the directory holds one in MY_SHARE of the grown assignments, for "my
# assignments" and the person_id filter, every one of them due the next day: a full page
# at every size of each of my lists, first and after the middle of my rows, overdue
# included (900 rows at 10k, 65 of my overdue ones after the middle; with one in 49 and
# due like everyone's, 8 overdue at 10k, so that 10k timed a page of 8 and 1M one of 50);
# prime to 3, 10 and 20, so that my rows have every status in the same shares as everyone's.
ME = "emma.employee"
MY_SHARE = 11
BATCH = 200_000
# The person number of the coachee the coachee_id filter asks for.
COACHEE = 42


class Dialect:
    """The few SQL spellings that differ between SQLite and PostgreSQL."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sqlite = name == "sqlite"

    def new_id(self) -> str:
        return "lower(hex(randomblob(16)))" if self.sqlite else "gen_random_uuid()"

    def person(self, number: str) -> str:
        if self.sqlite:
            return f"printf('%032x', {number})"
        return f"CAST(lpad(to_hex({number}), 32, '0') AS uuid)"

    def literal(self, value: Any) -> str:
        """A uuid as read back raw from the database, as an SQL literal."""
        if self.sqlite:
            return f"'{value}'"
        return f"CAST('{value}' AS uuid)"

    def uuid_of(self, value: uuid.UUID) -> str:
        return self.literal(value.hex if self.sqlite else value)

    def plus_hours(self, at: str, hours: int) -> str:
        if self.sqlite:
            return f"strftime('%Y-%m-%d %H:%M:%S', {at}, '+{hours} hours') || '.000000'"
        return f"{at} + interval '{hours} hours'"

    def series(self) -> str:
        """``t(i, at)``: the series ``:start..:stop``, each ``i`` a minute older than ``i-1``."""
        if self.sqlite:
            return f"""
WITH RECURSIVE n(i) AS (SELECT :start UNION ALL SELECT i + 1 FROM n WHERE i < :stop),
t(i, at) AS (SELECT i, strftime('%Y-%m-%d %H:%M:%S', :base, '-' || (i * {SPACING_SECONDS})
             || ' seconds') || '.000000' FROM n)"""
        return f"""
WITH t AS (SELECT i, CAST(:base AS timestamptz) - make_interval(secs => i * {SPACING_SECONDS})
           AS at FROM generate_series(CAST(:start AS bigint), CAST(:stop AS bigint)) AS i)"""

    def base(self, base: dt.datetime) -> Any:
        return base.replace(tzinfo=None).isoformat(" ") if self.sqlite else base

    def choice(self, number: str, values: list[str]) -> str:
        cases = " ".join(f"WHEN {n} THEN {value}" for n, value in enumerate(values))
        return f"CASE ({number}) % {len(values)} {cases} END"


@dataclass(frozen=True)
class Query:
    name: str
    path: str
    params: dict[str, str]
    # The cursor of a deep page (None: the list is timed on its first page only).
    deep: str | None
    token: str = ""


@dataclass
class Grown:
    engine: AsyncEngine
    sql: Dialect
    # Raw ids read from the seeded database, used in the grown rows.
    ids: dict[str, list[Any]] = field(default_factory=dict)


async def raw_ids(engine: AsyncEngine, statement: str) -> list[Any]:
    async with engine.connect() as connection:
        return list((await connection.execute(text(statement))).scalars())


async def run_batches(grown: Grown, statements: list[str], have: int, want: int) -> None:
    base = grown.sql.base(BASE)
    for start in range(have + 1, want + 1, BATCH):
        stop = min(want, start + BATCH - 1)
        async with grown.engine.begin() as connection:
            for statement in statements:
                await connection.execute(
                    text(statement), {"start": start, "stop": stop, "base": base}
                )
    async with grown.engine.begin() as connection:
        await connection.execute(text("ANALYZE"))


BASE = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)


# -- training -----------------------------------------------------------------------------


def _assignment_key(sql: Dialect, modules: int) -> dict[str, str]:
    me = sql.uuid_of(demo_person_id(ME))
    mine = f"i % {MY_SHARE} = 1"
    # Person, module and cycle unique per row; cycles from 1 (the seed's are 0); each of
    # my rows a cycle of its own.
    return {
        "person_id": f"CASE WHEN {mine} THEN {me} ELSE {sql.person(f'i % {PEOPLE}')} END",
        "module_number": f"(i / {PEOPLE}) % {modules}",
        "cycle": f"CASE WHEN {mine} THEN i ELSE 1 + i / {PEOPLE * modules} END",
        "mine": mine,
    }


def training_statements(grown: Grown) -> list[str]:
    sql, modules = grown.sql, [grown.sql.literal(m) for m in grown.ids["modules"]]
    key = _assignment_key(sql, len(modules))
    module = sql.choice(key["module_number"], modules)
    department = sql.choice(f"i % {PEOPLE}", [f"'{d}'" for d in DEPARTMENTS])
    # Closed without being completed: superseded or left, from those never started.
    closed = "i % 10 = 9"
    reason = "CASE WHEN i % 20 = 9 THEN 'superseded' ELSE 'left' END"
    # The progress (eight in ten started, seven completed), on its own table and copied on
    # the assignment's row as the app keeps it.
    started = f"CASE WHEN i % 10 < 8 THEN {sql.plus_hours('at', 24)} ELSE NULL END"
    completed = f"CASE WHEN i % 10 < 7 THEN {sql.plus_hours('at', 48)} ELSE NULL END"
    # Most due in 30 days, one in three (and all of mine) the next day: overdue ones at
    # every size.
    next_day = f"i % 3 = 0 OR {key['mine']}"
    due = (
        f"CASE WHEN {next_day} THEN {sql.plus_hours('at', 24)} ELSE {sql.plus_hours('at', 720)} END"
    )
    assignments = f"""{sql.series()}
INSERT INTO assignments (id, module_id, person_id, department, due_at, assigned_by, rule_id,
                         created_at, cycle, renewal_of, closed_at, closed_reason, started_at,
                         completed_at)
SELECT {sql.new_id()}, {module}, {key["person_id"]}, {department}, {due},
       NULL, NULL, at, {key["cycle"]}, NULL,
       CASE WHEN {closed} THEN {sql.plus_hours("at", 240)} ELSE NULL END,
       CASE WHEN {closed} THEN {reason} ELSE NULL END, {started}, {completed}
FROM t"""
    progress = f"""{sql.series()}
INSERT INTO module_progress (id, person_id, module_id, cycle, started_at, read_at, completed_at)
SELECT {sql.new_id()}, {key["person_id"]}, {module}, {key["cycle"]}, {started}, NULL, {completed}
FROM t WHERE i % 10 < 8"""
    version = sql.literal(grown.ids["version"][0])
    acknowledgements = f"""{sql.series()}
INSERT INTO acknowledgements (id, version_id, person_id, acknowledged_at)
SELECT {sql.new_id()}, {version}, {sql.person(f"{10 * PEOPLE} + i")}, at FROM t"""
    return [assignments, progress, acknowledgements]


async def training_queries(grown: Grown, size: int, hr: str, me: str) -> list[Query]:
    # The module of the newest grown rows (series numbers below PEOPLE): its first page and
    # the page after the middle of the list are full at every size. Any module's first
    # row (what this was) could change with the size, and at 10k be one with a handful.
    module = str(_as_uuid(grown.ids["modules"][0]))
    person = str(demo_person_id(ME))
    oldest_first = await _cursor(
        grown, "SELECT created_at, id FROM assignments ORDER BY created_at, id", size // 2
    )
    mine = await _cursor(
        grown,
        "SELECT created_at, id FROM assignments WHERE person_id = "
        f"{grown.sql.uuid_of(demo_person_id(ME))} ORDER BY created_at, id",
        size // MY_SHARE // 2,
    )
    assignments = f"{TRAINING}/assignments"
    queries = [
        Query("assignments all", assignments, {}, oldest_first),
        Query("assignments module_id", assignments, {"module_id": module}, oldest_first),
        Query("assignments person_id", assignments, {"person_id": person}, oldest_first),
        Query("assignments department", assignments, {"department": "Sales"}, oldest_first),
    ]
    for status in ("completed", "in_progress", "not_started", "overdue", "superseded", "left"):
        queries.append(
            Query(f"assignments status={status}", assignments, {"status": status}, oldest_first)
        )
    queries.append(Query("me/assignments", f"{TRAINING}/me/assignments", {}, mine, token=me))
    for status in ("completed", "overdue"):
        queries.append(
            Query(
                f"me/assignments status={status}",
                f"{TRAINING}/me/assignments",
                {"status": status},
                mine,
                token=me,
            )
        )
    queries.append(
        Query(
            "assignments department+status=overdue",
            assignments,
            {"department": "Sales", "status": "overdue"},
            oldest_first,
        )
    )
    queries.append(
        Query("acknowledgements/people", f"{TRAINING}/reports/acknowledgements/people", {}, None)
    )
    # Coaching's candidates read these: its own list's department filter asks training for
    # the department's signals once coaching's own rows do not fill the page.
    signals = f"{TRAINING}/signals"
    for name, params in (
        ("signals", {}),
        ("signals reason=training_overdue", {"reason": "training_overdue"}),
        ("signals department", {"department": "Sales"}),
    ):
        queries.append(Query(name, signals, params, await _signal_cursor(grown)))
    return [q if q.token else Query(q.name, q.path, q.params, q.deep, hr) for q in queries]


async def _signal_cursor(grown: Grown) -> str | None:
    """A deep page of the signals: the cursor of the overdue assignment in the middle of
    the overdue ones, in the signals' order (due date, reason, person, module)."""
    now = grown.sql.base(dt.datetime.now(dt.UTC))
    async with grown.engine.connect() as connection:
        total = (
            await connection.execute(
                text(
                    "SELECT count(*) FROM assignments WHERE completed_at IS NULL "
                    "AND closed_at IS NULL AND due_at < :now"
                ),
                {"now": now},
            )
        ).scalar_one()
        row = (
            await connection.execute(
                text(
                    "SELECT due_at, person_id, module_id FROM assignments WHERE "
                    "completed_at IS NULL AND closed_at IS NULL AND due_at < :now "
                    "ORDER BY due_at, person_id, module_id LIMIT 1 OFFSET :middle"
                ),
                {"now": now, "middle": total // 2},
            )
        ).one_or_none()
    if row is None:
        return None
    due_at, person, module = row
    if isinstance(due_at, str):
        due_at = dt.datetime.fromisoformat(due_at).replace(tzinfo=dt.UTC)
    return encode_cursor([due_at, "training_overdue", _as_uuid(person), _as_uuid(module)])


# -- coaching -----------------------------------------------------------------------------


def coaching_statements(grown: Grown) -> list[str]:
    sql = grown.sql
    coaches = [sql.literal(c) for c in grown.ids["coaches"]]
    status = (
        "CASE WHEN i % 20 = 0 THEN 'proposed' WHEN i % 20 = 1 THEN 'active' "
        "WHEN i % 20 = 2 THEN 'cancelled' ELSE 'completed' END"
    )
    source = sql.choice(
        "i", ["'incident'", "'self_nomination'", "'manager_referral'", "'training_signal'"]
    )
    # Incidents' engagements are remedial; the others any track.
    track = (
        "CASE WHEN i % 4 = 0 THEN 'remedial' ELSE "
        + sql.choice("i / 4", ["'ambassador'", "'remedial'", "'development'"])
        + " END"
    )
    incident = f"CASE WHEN i % 4 = 0 THEN {sql.person(f'{10 * PEOPLE} + i')} ELSE NULL END"
    coach = f"CASE WHEN i % 20 = 0 THEN NULL ELSE {sql.choice('i / 20', coaches)} END"
    # The coachee_id filter's coachee is that of one engagement in 53 besides their share:
    # a full page at every size (prime to the status, source and track cycles).
    coachee = (
        f"CASE WHEN i % 53 = 0 THEN {sql.person(str(COACHEE))} "
        f"ELSE {sql.person(f'i % {PEOPLE}')} END"
    )
    started = f"CASE WHEN i % 20 = 0 THEN NULL ELSE {sql.plus_hours('at', 48)} END"
    completed = f"CASE WHEN i % 20 > 2 THEN {sql.plus_hours('at', 720)} ELSE NULL END"
    cancelled = f"CASE WHEN i % 20 = 2 THEN {sql.plus_hours('at', 72)} ELSE NULL END"
    outcome = "CASE WHEN i % 20 > 2 THEN 'goals_met' ELSE NULL END"
    return [
        f"""{sql.series()}
INSERT INTO engagements (id, coachee_id, coach_id, track, source, incident_id, goals, status,
                         outcome, closing_note, created_by, created_at, started_at,
                         completed_at, cancelled_at, version)
SELECT {sql.new_id()}, {coachee}, {coach}, {track}, {source}, {incident},
       'Grown by bench.lists_services.', {status}, {outcome}, NULL, 'bench', at, {started},
       {completed}, {cancelled}, 1
FROM t"""
    ]


async def coaching_queries(grown: Grown, size: int, hr: str) -> list[Query]:
    coachee = str(uuid.UUID(int=COACHEE))
    coach = str(await _uuid(grown, "SELECT coach_id FROM engagements WHERE coach_id IS NOT NULL"))
    newest_first = await _cursor(
        grown, "SELECT created_at, id FROM engagements ORDER BY created_at DESC, id DESC", size // 2
    )
    proposed = await _cursor(
        grown,
        "SELECT created_at, id FROM engagements WHERE status = 'proposed' ORDER BY created_at, id",
        size // 40,
    )
    assert proposed is not None
    candidates_deep = encode_position(Position(Segment.COACHING, proposed))
    engagements = f"{COACHING}/engagements"
    candidates = f"{COACHING}/candidates"
    return [
        Query("engagements all", engagements, {}, newest_first, hr),
        Query("engagements coachee_id", engagements, {"coachee_id": coachee}, newest_first, hr),
        Query("engagements coach_id", engagements, {"coach_id": coach}, newest_first, hr),
        Query("engagements track=remedial", engagements, {"track": "remedial"}, newest_first, hr),
        Query("engagements status=active", engagements, {"status": "active"}, newest_first, hr),
        Query("engagements status=proposed", engagements, {"status": "proposed"}, newest_first, hr),
        Query("candidates", candidates, {}, candidates_deep, hr),
        Query(
            "candidates remedial_proposed",
            candidates,
            {"reason": "remedial_proposed"},
            candidates_deep,
            hr,
        ),
        Query(
            "candidates self_nomination",
            candidates,
            {"reason": "self_nomination"},
            candidates_deep,
            hr,
        ),
        Query("candidates department", candidates, {"department": "Sales"}, None, hr),
    ]


# -- shared -------------------------------------------------------------------------------


async def _uuid(grown: Grown, statement: str) -> uuid.UUID:
    async with grown.engine.connect() as connection:
        return _as_uuid((await connection.execute(text(statement))).scalar())


def _as_uuid(raw: Any) -> uuid.UUID:
    """A uuid as read back raw (a hex string from SQLite)."""
    return raw if isinstance(raw, uuid.UUID) else uuid.UUID(hex=str(raw))


async def _cursor(grown: Grown, statement: str, offset: int) -> str | None:
    """The cursor of the row at ``offset`` of ``statement`` (``created_at, id``)."""
    async with grown.engine.connect() as connection:
        row = (
            await connection.execute(text(f"{statement} LIMIT 1 OFFSET {max(offset, 0)}"))
        ).one_or_none()
    if row is None:
        return None
    created_at, raw = row
    if isinstance(created_at, str):
        created_at = dt.datetime.fromisoformat(created_at).replace(tzinfo=dt.UTC)
    return encode_cursor([created_at, _as_uuid(raw)])


# Training's background jobs stay off: see the module's docstring.
QUIET_JOBS = {
    "TRAINING_RECONCILER": "false",
    "TRAINING_REMINDERS_JOB": "false",
    "TRAINING_RETENTION_JOB": "false",
}


@dataclass
class Sized:
    """One size's own stack and databases, grown once to that size."""

    size: int
    bench: BenchStack
    client: httpx.AsyncClient
    grown: dict[str, Grown]
    queries: list[Query]

    def target(self, query: Query, page: str) -> Target:
        params = query.params if page == "first" else {**query.params, "cursor": query.deep}
        service = "training" if query.path.startswith(TRAINING) else "coaching"
        return Target(
            self.client,
            query.path,
            params,
            {"Authorization": f"Bearer {query.token}"},
            serving(self.bench.stack, service),
        )


async def grow_stack(bench: BenchStack, services: list[str], size: int) -> Sized:
    """Grow ``bench``'s databases to ``size`` rows and make its queries."""
    settings = GatewaySettings()
    hr = sign_dev_token(settings, person_id=demo_person_id("hannah.hr"))
    me = sign_dev_token(settings, person_id=demo_person_id(ME))
    started = time.monotonic()
    grown: dict[str, Grown] = {}
    queries: list[Query] = []
    for service in services:
        engine = create_async_engine(bench.urls[service])
        state = grown[service] = Grown(engine, Dialect(engine.dialect.name))
        if service == "training":
            state.ids["modules"] = await raw_ids(engine, "SELECT id FROM modules")
            state.ids["version"] = await raw_ids(
                engine, "SELECT id FROM policy_versions WHERE status = 'published'"
            )
            await run_batches(state, training_statements(state), 0, size)
            queries += await training_queries(state, size, hr, me)
        else:
            state.ids["coaches"] = await raw_ids(engine, "SELECT id FROM coaches")
            await run_batches(state, coaching_statements(state), 0, size)
            queries += await coaching_queries(state, size, hr)
    print(f"grown to {size} rows in {time.monotonic() - started:.1f} s", flush=True)
    client = httpx.AsyncClient(base_url=bench.stack.url("gateway"), timeout=60)
    return Sized(size, bench, client, grown, queries)


async def run(services: list[str], sizes: list[int], runs: int) -> int:
    # A stack of its own for each size, all running at once, and each request timed on
    # every size in turn: this machine's speed drifts by a fifth over minutes, and sizes
    # timed one after the other (the table grown in between) missed the target on
    # different queries from run to run.
    async with contextlib.AsyncExitStack() as exits:
        stacks = []
        for size in sizes:
            bench = await exits.enter_async_context(
                bench_stack(f"lists_services_{size}", QUIET_JOBS)
            )
            sized = await grow_stack(bench, services, size)
            exits.push_async_callback(sized.client.aclose)
            for state in sized.grown.values():
                exits.push_async_callback(state.engine.dispose)
            stacks.append(sized)
        backend = stacks[0].bench.backend
        print(f"backend: {backend}; p50 of {runs} requests to each size in turn, ms", flush=True)
        table: Figures = {}
        in_process: Figures = {}
        cpu: Figures = {}
        for number, query in enumerate(stacks[0].queries):
            versions = [sized.queries[number] for sized in stacks]  # the query at each size
            pages = ["first"] + (["deep"] if all(v.deep for v in versions) else [])
            for page in pages:
                targets = [
                    sized.target(version, page)
                    for sized, version in zip(stacks, versions, strict=True)
                ]
                figures = await timed_in_turn(targets, runs)
                file_figures(table, cpu, (query.name, page), sizes, figures)
                if assignment_filters(query) is not None:
                    listed = await listed_in_turn(stacks, versions, page, runs)
                    for size, figure in zip(sizes, listed, strict=True):
                        in_process.setdefault((query.name, page), {})[size] = figure
    http = report(table, sizes)
    report_cpu(cpu, sizes)
    if not in_process:
        return http
    clock = "CPU" if "sqlite" in backend else "wall"
    print(f"in process: training.assignments.service.list_assignments, p50 ms ({clock})")
    return max(http, report(in_process, sizes))


def assignment_filters(query: Query) -> dict[str, Any] | None:
    """``list_assignments``'s arguments for a query of training's assignment lists."""
    if not query.path.endswith("/assignments"):
        return None
    filters: dict[str, Any] = {}
    if query.path.endswith("/me/assignments"):
        filters["person_id"] = demo_person_id(ME)
    for name in ("module_id", "person_id"):
        if name in query.params:
            filters[name] = uuid.UUID(query.params[name])
    if "department" in query.params:
        filters["department"] = query.params["department"]
    if "status" in query.params:
        filters["status"] = ProgressStatus(query.params["status"])
    return filters


async def listed_in_turn(
    stacks: list[Sized], versions: list[Query], page: str, runs: int
) -> list[float]:
    """The p50 of ``list_assignments`` at each size, called on each size in turn: CPU
    time of this process on SQLite (the database runs in it, and CPU time does not count
    the waits for the cores that other work on a shared machine causes), wall time on
    PostgreSQL (the server does the query)."""
    databases = [Database(sized.bench.urls["training"]) for sized in stacks]
    sqlite = databases[0].engine.dialect.name == "sqlite"
    clock = time.process_time if sqlite else time.perf_counter
    calls = []
    for version in versions:
        filters = assignment_filters(version) or {}
        cursor = version.deep if page == "deep" else None
        calls.append((filters, PageParams(cursor=cursor)))
    times: list[list[float]] = [[] for _ in databases]
    try:
        for run in range(WARM_UP + runs):
            for number, (database, (filters, params)) in enumerate(
                zip(databases, calls, strict=True)
            ):
                started = clock()
                async with database.transaction(write=False) as session:
                    await list_assignments(session, page=params, **filters)
                if run >= WARM_UP:
                    times[number].append((clock() - started) * 1000)
    finally:
        for database in databases:
            await database.dispose()
    return [statistics.median(each) for each in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_postgres_option(parser)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--service", default="training,coaching")
    args = parser.parse_args()
    print(machine(), flush=True)
    choose_backend(args)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    services = [s for s in ("training", "coaching") if s in args.service.split(",")]
    sys.exit(asyncio.run(run(services, sizes, args.runs)))


if __name__ == "__main__":
    main()
