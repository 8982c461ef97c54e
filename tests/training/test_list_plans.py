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
from sqlalchemy.ext.asyncio import AsyncSession

from kit.pagination import PageParams, encode_cursor
from tests.support.plans import Listing, assert_read_off, plan_of
from tests.support.stack import StackHandle
from training.assignments import service
from training.assignments.models import Assignment
from training.assignments.schemas import ProgressStatus
from training.directory import DirectoryPerson
from training.policy.models import PolicyVersion
from training.reports.service import people_acknowledgements

# A cursor deep in the list: the page after it must come off the same index.
DEEP = PageParams(cursor=encode_cursor(["2026-01-01T00:00:00+00:00", str(uuid.uuid4())]))


@pytest.fixture
async def session(stack: StackHandle) -> AsyncIterator[AsyncSession]:
    async with stack.stack.database("training").transaction(write=False) as session:
        yield session


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
    ({"status": ProgressStatus.IN_PROGRESS}, "ix_assignments_open_created_at_id"),
    ({"status": ProgressStatus.NOT_STARTED}, "ix_assignments_open_created_at_id"),
    ({"status": ProgressStatus.COMPLETED}, "ix_assignments_completed_created_at_id"),
    ({"status": ProgressStatus.SUPERSEDED}, "ix_assignments_closed_reason_created_at_id"),
    ({"status": ProgressStatus.LEFT}, "ix_assignments_closed_reason_created_at_id"),
    # My assignments (``/me/assignments``) with a status: the person's index, or (what
    # PostgreSQL picks on an empty table) the status's, both in the list's order.
    (
        {"person_id": uuid.uuid4(), "status": ProgressStatus.IN_PROGRESS},
        ("ix_assignments_person_id_created_at_id", "ix_assignments_open_created_at_id"),
    ),
]


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
