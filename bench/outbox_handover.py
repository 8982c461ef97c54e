"""What the outbox costs a service per committed event, in-process, on SQLite (issue 21).

    .venv/bin/python -m bench.outbox_handover [--commits 200] [--gap-ms 20] [--rounds 3]

A drainer runs as it does in an app; ``--commits`` transactions each emit one event,
``--gap-ms`` apart (decisions arriving one at a time, the case where every event travels
alone); the events go to an in-memory receiver. Prints the SQL statements and the CPU
(``time.process_time``) per committed event, commit and hand-over together. Run it on two
checkouts to compare them (README "What events cost").
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy import event as sa_event

from bench.stack import machine
from kit.db import Database, new_registry
from kit.jobs import Backoff
from kit.outbox import Event, Outbox, OutboxDrainer

METADATA: MetaData = new_registry().metadata
OUTBOX = Outbox(METADATA, source="bench")


async def measure(url: str, *, commits: int, gap_seconds: float) -> tuple[float, float]:
    """(SQL statements, CPU milliseconds) per committed event."""
    database = Database(url)
    async with database.engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    received: list[Event] = []
    all_received = asyncio.Event()
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    sa_event.listen(database.engine.sync_engine, "before_cursor_execute", count)

    async def send(events: list[Event]) -> None:
        received.extend(events)
        if len(received) >= commits:
            all_received.set()

    drainer = OutboxDrainer(database, OUTBOX, send=send, backoff=Backoff(1, 300), poll_seconds=2.0)
    try:
        async with drainer.running():
            await asyncio.sleep(0.1)  # the first round looks at the (empty) table
            statements, started = 0, time.process_time()
            for number in range(commits):
                async with database.transaction() as session:
                    await OUTBOX.emit(session, "thing.happened", {"n": number, "id": uuid.uuid4()})
                await asyncio.sleep(gap_seconds)
            await asyncio.wait_for(all_received.wait(), timeout=120)
            used, counted = time.process_time() - started, statements
    finally:
        await database.dispose()
    return counted / commits, 1000 * used / commits


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory() as directory:
        for number in range(args.rounds):
            url = f"sqlite+aiosqlite:///{directory}/outbox-{number}.db"
            per_event, cpu_ms = await measure(
                url, commits=args.commits, gap_seconds=args.gap_ms / 1000
            )
            print(
                f"round {number + 1}: {per_event:.2f} SQL statements and {cpu_ms:.2f} ms CPU "
                "per committed event (commit and hand-over)",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
