"""What a list's statement costs, asked of the database itself (``EXPLAIN``): the checks of
issue 16 that every list reads its page straight off an index matching its filter and its
order, on SQLite and PostgreSQL, so a page costs the same at a million rows as at ten
thousand (``bench/lists.py`` times it).

``plan_of`` runs the list as the service does, captures the first statement it sends to the
table, and asks the database for its plan. PostgreSQL would rather scan a small test table
than use an index, so there sequential scans, bitmap scans and sorts are priced out: what is
left is an index that serves both the filter and the order, if one exists.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

Listing = Callable[[AsyncSession], Awaitable[Any]]


async def plan_of(
    session: AsyncSession, listing: Listing, table: str, nth: int = 0, *, in_order: bool = True
) -> str:
    """The plan of the first (or ``nth``, from 0) statement reading ``table`` that
    ``listing`` sends, as one string. ``in_order=False``: a statement whose few matching
    rows are sorted (PostgreSQL keeps its bitmap scans and sorts; only the sequential
    scan is priced out)."""
    sent: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
            sent.append((statement, parameters))

    connection = await session.connection()
    engine = connection.sync_connection.engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", capture)
    try:
        await listing(session)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(sent) > nth, f"the listing sent {len(sent)} SELECTs from {table}"
    statement, parameters = sent[nth]
    if connection.dialect.name == "postgresql":
        settings = ("enable_seqscan", "enable_bitmapscan", "enable_sort")
        for setting in settings if in_order else settings[:1]:
            await connection.exec_driver_sql(f"SET LOCAL {setting} = off")
        explain = "EXPLAIN "
    else:
        explain = "EXPLAIN QUERY PLAN "
    rows = (await connection.exec_driver_sql(explain + statement, parameters)).all()
    return "\n".join(str(row[-1]) for row in rows)


def assert_read_off(plan: str, index: str | tuple[str, ...]) -> None:
    """The page comes off ``index`` (or one of several) in its order: no sort of the
    matching rows."""
    indexes = (index,) if isinstance(index, str) else index
    assert any(name in plan for name in indexes), plan
    assert "TEMP B-TREE" not in plan, f"SQLite sorts the rows:\n{plan}"
    assert "Sort" not in plan, f"PostgreSQL sorts the rows:\n{plan}"
