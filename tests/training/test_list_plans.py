"""Every filter of training's assignments list, and the acknowledgements page, reads its
rows straight off an index that matches the filter and the order, on SQLite and PostgreSQL:
a page costs the same at a million rows as at ten thousand (issue 16; ``bench/lists.py
--service training`` times it; how the plan is asked for: ``tests/support/plans.py``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.pagination import PageParams, decode_cursor, encode_cursor
from tests.support.plans import Listing, assert_read_off, plan_of
from tests.support.stack import StackHandle
from training.assignments import service, signals
from training.assignments.models import Assignment, ModuleProgress
from training.assignments.schemas import ProgressStatus
from training.directory import DirectoryPerson
from training.modules.models import Module
from training.policy.models import PolicyVersion
from training.reports.service import people_acknowledgements

# A cursor deep in the list: the page after it must come off the same index.
DEEP = PageParams(cursor=encode_cursor(["2026-01-01T00:00:00+00:00", str(uuid.uuid4())]))


@pytest.fixture
async def session(stack: StackHandle) -> AsyncIterator[AsyncSession]:
    async with stack.stack.database("training").transaction(write=False) as session:
        yield session


@pytest.fixture
async def on_time(stack: StackHandle) -> None:
    """One assignment in progress and one not started, both of ``PERSON`` and due in a
    week: with none, the on-time statuses answer without reading a page."""
    now = dt.datetime.now(dt.UTC)
    module = Module(title="Plans", summary="Plans", body_markdown="Plans")
    async with stack.stack.database("training").transaction() as session:
        session.add(module)
        await session.flush()
        # Started: the first cycle's progress, which the assignment takes at the flush.
        session.add(ModuleProgress(person_id=PERSON, module_id=module.id, cycle=0))
        for cycle in (0, 1):
            session.add(
                Assignment(
                    module_id=module.id,
                    person_id=PERSON,
                    due_at=now + dt.timedelta(days=7),
                    cycle=cycle,
                )
            )


def listed(filters: dict[str, Any], page: PageParams = PageParams()) -> Listing:
    async def listing(session: AsyncSession) -> Any:
        return await service.list_assignments(session, page=page, **filters)

    return listing


# Each status reads the assignment's own row (its copy of the progress) off a partial
# index in the list's order: completed ones, open ones (overdue, in progress, not started:
# told apart inside the index, which holds the due date and the start), closed ones.
FILTERED = [
    ({}, "ix_assignments_created_at_id"),
    ({"module_id": uuid.uuid4()}, "ix_assignments_module_id_created_at_id"),
    ({"person_id": uuid.uuid4()}, "ix_assignments_person_id_created_at_id"),
    ({"department": "Sales"}, "ix_assignments_department_created_at_id"),
    ({"status": ProgressStatus.OVERDUE}, "ix_assignments_open_created_at_id"),
    ({"status": ProgressStatus.COMPLETED}, "ix_assignments_completed_created_at_id"),
    ({"status": ProgressStatus.SUPERSEDED}, "ix_assignments_closed_reason_created_at_id"),
    ({"status": ProgressStatus.LEFT}, "ix_assignments_closed_reason_created_at_id"),
    # My overdue assignments (``/me/assignments?status=overdue``): off my open ones only,
    # not by reading every assignment I ever had (most of them completed).
    (
        {"person_id": uuid.uuid4(), "status": ProgressStatus.OVERDUE},
        "ix_assignments_open_person_id_created_at_id",
    ),
]

MINE = (
    "ix_assignments_open_person_id_created_at_id",
    "ix_assignments_person_id_created_at_id",
    "ix_assignments_open_created_at_id",
)
# In progress and not started (open, not yet due) first look up where the oldest of them
# is, by due date, then read the page from there off the open ones' index: the overdue
# ones before it in the list's order are not walked (the list tests, see ``on_time``).
PERSON = uuid.uuid4()
ON_TIME = [
    ({"status": ProgressStatus.IN_PROGRESS}, "ix_assignments_open_created_at_id"),
    ({"status": ProgressStatus.NOT_STARTED}, "ix_assignments_open_created_at_id"),
    # My assignments (``/me/assignments``) with an on-time status: my open ones (SQLite),
    # or (what PostgreSQL picks on a table this small) all of mine or the status's, each
    # in the list's order.
    *(
        ({"person_id": PERSON, "status": status}, MINE)
        for status in (ProgressStatus.IN_PROGRESS, ProgressStatus.NOT_STARTED)
    ),
]
# After every row: the page still comes after this cursor, not after the oldest match.
LATE = PageParams(cursor=encode_cursor(["2100-01-01T00:00:00+00:00", str(uuid.uuid4())]))


class TestAssignmentListPlans:
    @pytest.mark.parametrize(("filters", "index"), FILTERED, ids=lambda v: str(v)[:60])
    async def test_the_first_page_is_read_off_the_index_of_its_filter(
        self, session: AsyncSession, filters: dict[str, Any], index: str | tuple[str, ...]
    ) -> None:
        assert_read_off(await plan_of(session, listed(filters), "assignments"), index)

    @pytest.mark.parametrize(("filters", "index"), FILTERED, ids=lambda v: str(v)[:60])
    async def test_a_deep_page_is_read_off_the_same_index(
        self, session: AsyncSession, filters: dict[str, Any], index: str | tuple[str, ...]
    ) -> None:
        assert_read_off(await plan_of(session, listed(filters, DEEP), "assignments"), index)

    @pytest.mark.parametrize(("filters", "index"), ON_TIME, ids=lambda v: str(v)[:60])
    @pytest.mark.usefixtures("on_time")
    async def test_an_on_time_status_finds_its_oldest_by_due_date(
        self, session: AsyncSession, filters: dict[str, Any], index: str | tuple[str, ...]
    ) -> None:
        plan = await plan_of(session, listed(filters), "assignments")
        # A person's: by due date (either open index that starts with it), or off their
        # own rows (their open ones on SQLite).
        assert_read_off(plan, ("ix_assignments_open_due_at_", *MINE[:2]))

    @pytest.mark.parametrize(("filters", "index"), ON_TIME, ids=lambda v: str(v)[:60])
    @pytest.mark.parametrize("page", [PageParams(), DEEP, LATE], ids=["first", "deep", "late"])
    @pytest.mark.usefixtures("on_time")
    async def test_an_on_time_status_reads_its_page_off_the_index_of_its_filter(
        self,
        session: AsyncSession,
        filters: dict[str, Any],
        index: str | tuple[str, ...],
        page: PageParams,
    ) -> None:
        plan = await plan_of(session, listed(filters, page), "assignments", nth=1)
        assert_read_off(plan, index)

    @pytest.mark.parametrize("status", list(ProgressStatus), ids=str)
    async def test_a_status_filter_reads_no_progress(
        self, session: AsyncSession, status: ProgressStatus
    ) -> None:
        plan = await plan_of(session, listed({"status": status}), "assignments")
        assert "module_progress" not in plan, plan

    async def test_a_page_finds_its_progress_by_index(self, session: AsyncSession) -> None:
        page = [
            Assignment(
                module_id=uuid.uuid4(), person_id=uuid.uuid4(), due_at=dt.datetime.now(dt.UTC)
            )
            for _ in range(50)
        ]

        async def listing(session: AsyncSession) -> Any:
            # Made-up modules: only the statement that reads the progress matters here.
            with contextlib.suppress(KeyError):
                await service._reads(session, page)

        plan = await plan_of(session, listing, "module_progress")
        assert "SCAN module_progress" not in plan, plan
        assert "Seq Scan" not in plan, plan
        assert "INDEX" in plan or "Index" in plan, plan
        # By the whole key: probed by person and module alone, a page of a person with
        # many renewal cycles read every cycle of theirs (thousands of rows at 1M).
        assert "cycle=?" in plan or "cycle = assignments.cycle" in plan, plan


class TestAcknowledgementsPlan:
    async def test_a_page_of_people_finds_their_acknowledgements_by_index(
        self, session: AsyncSession
    ) -> None:
        version = PolicyVersion(policy_id=uuid.uuid4(), number=1, body_markdown="Policy")
        people = [
            DirectoryPerson(id=uuid.uuid4(), display_name=f"P{n}", department="Sales")
            for n in range(50)
        ]

        async def listing(session: AsyncSession) -> Any:
            return await people_acknowledgements(session, version=version, people=people)

        plan = await plan_of(session, listing, "acknowledgements")
        assert "SCAN acknowledgements" not in plan, plan
        assert "Seq Scan" not in plan, plan
        assert "acknowledgements" in plan, plan
        assert "INDEX" in plan or "Index" in plan, plan


class TestOnTimePages:
    """The on-time statuses start their walk at the oldest match: the pages, their order
    and their cursors are those of the plain filter."""

    async def test_paging_through_sees_each_match_once_in_the_lists_order(
        self, stack: StackHandle
    ) -> None:
        now = dt.datetime.now(dt.UTC)
        module = Module(title="Pages", summary="Pages", body_markdown="Pages")
        person = uuid.uuid4()
        # (created days ago, due in days, started, completed): two overdue ones first in
        # the list's order, then on-time ones, two of them created at the same instant.
        rows = [(40, -10, False, False), (35, -5, True, False), (30, 5, True, True)]
        rows += [(20, 10, False, False), (20, 10, False, False), (20, 10, True, False)]
        rows += [(10, 20, True, False), (5, 25, False, False)]
        expected: dict[ProgressStatus, list[Assignment]] = {
            ProgressStatus.IN_PROGRESS: [],
            ProgressStatus.NOT_STARTED: [],
        }
        async with stack.stack.database("training").transaction() as session:
            session.add(module)
            await session.flush()
            for cycle, (created, due, started, completed) in enumerate(rows):
                if started:
                    session.add(
                        ModuleProgress(
                            person_id=person,
                            module_id=module.id,
                            cycle=cycle,
                            completed_at=now if completed else None,
                        )
                    )
                assignment = Assignment(
                    module_id=module.id,
                    person_id=person,
                    cycle=cycle,
                    created_at=now - dt.timedelta(days=created),
                    due_at=now + dt.timedelta(days=due),
                )
                session.add(assignment)
                if due > 0 and not completed:
                    status = ProgressStatus.IN_PROGRESS if started else ProgressStatus.NOT_STARTED
                    expected[status].append(assignment)
        async with stack.stack.database("training").transaction(write=False) as session:
            for status, matches in expected.items():
                # From a cursor older than every row, as from the start.
                page = PageParams(limit=1, cursor=DEEP.cursor)
                seen: list[uuid.UUID] = []
                while True:
                    items, cursor = await service.list_assignments(
                        session, page=page, module_id=module.id, status=status
                    )
                    seen += [item.assignment_id for item in items]
                    if cursor is None:
                        break
                    page = PageParams(limit=1, cursor=cursor)
                in_order = sorted(matches, key=lambda a: (a.created_at, a.id))
                assert seen == [a.id for a in in_order], status


class TestSignalsPlan:
    """Training's signals (``/training/signals``, what coaching's candidates ask with a
    department) read the overdue assignments a page at a time in the signals' order, off
    an index of their own: before, the union sorted every overdue assignment (330 ms of a
    candidates page at a million rows)."""

    @pytest.mark.parametrize(
        "after",
        [
            None,
            ["2026-01-01T00:00:00+00:00", "training_overdue", str(uuid.uuid4()), str(uuid.uuid4())],
        ],
        ids=["first", "deep"],
    )
    @pytest.mark.parametrize(
        "people", [None, [uuid.uuid4() for _ in range(30)]], ids=["all", "department"]
    )
    async def test_the_overdue_assignments_are_read_off_their_index_in_order(
        self, session: AsyncSession, after: list[Any] | None, people: list[uuid.UUID] | None
    ) -> None:
        cursor = decode_cursor(encode_cursor(after), signals._KEY_TYPES) if after else None
        part = signals._page_of(
            signals._overdue_assignments(dt.datetime.now(dt.UTC)), people, cursor, 51
        )

        async def listing(session: AsyncSession) -> Any:
            return (await session.execute(select(part.subquery()))).all()

        plan = await plan_of(session, listing, "assignments", in_order=people is None)
        assert "module_progress" not in plan, plan
        if people is None:
            assert_read_off(plan, "ix_assignments_open_due_at_person_id_module_id")
            return
        # A department's: in order off the due dates, or (what the planners pick on a
        # table this small) off its people's open rows, never off every assignment.
        assert "SCAN assignments" not in plan, plan
        assert "Seq Scan" not in plan, plan
        assert "ix_assignments_open_" in plan, plan

    async def test_a_page_of_signals_sends_each_source_cut_to_the_page(
        self, session: AsyncSession
    ) -> None:
        sent: list[str] = []

        def capture(*args: Any) -> None:
            sent.append(args[2])

        connection = await session.connection()
        engine = connection.sync_connection.engine  # type: ignore[union-attr]
        event.listen(engine, "before_cursor_execute", capture)
        try:
            await signals.list_signals(
                session, page=PageParams(limit=10), reason=None, person_ids=None
            )
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        [union] = [statement for statement in sent if "UNION ALL" in statement]
        # One LIMIT per source (quizzes, assignments, acknowledgements) and one for the page.
        assert union.count("LIMIT") == 4, union
