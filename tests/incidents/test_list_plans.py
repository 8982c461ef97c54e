"""Every incidents list reads its page straight off an index that matches its filter and
its order, on SQLite and PostgreSQL: a page costs the same at a million rows as at ten
thousand (issue 16; ``bench/lists.py`` times it; how the plan is asked for:
``tests/support/plans.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.domain import Category, IncidentStatus, OwnerRole, Severity
from incidents.incident import service
from incidents.incident.service import IncidentFilters
from kit.identity import Caller, PrincipalKind
from kit.pagination import PageParams, encode_cursor
from tests.support.plans import Listing, assert_read_off, plan_of
from tests.support.stack import StackHandle

HR = Caller(subject=str(uuid.uuid4()), kind=PrincipalKind.USER, roles=frozenset({"employee", "hr"}))
# A cursor deep in the list: the page after it must come off the same index.
DEEP = PageParams(cursor=encode_cursor(["2026-01-01T00:00:00+00:00", str(uuid.uuid4())]))


@pytest.fixture
async def session(stack: StackHandle) -> AsyncIterator[AsyncSession]:
    async with stack.stack.database("incidents").transaction(write=False) as session:
        yield session


def listed(filters: IncidentFilters, page: PageParams = PageParams()) -> Listing:
    async def listing(session: AsyncSession) -> Any:
        return await service.list_incidents(session, caller=HR, filters=filters, page=page)

    return listing


FILTERED = [
    (IncidentFilters(), "ix_incidents_created_at_id"),
    (IncidentFilters(statuses=[IncidentStatus.RESOLVED]), "ix_incidents_status_created_at_id"),
    (IncidentFilters(severity=Severity.HIGH), "ix_incidents_severity_created_at_id"),
    (
        IncidentFilters(category=Category.HARASSMENT_OR_HATE),
        "ix_incidents_category_created_at_id",
    ),
    (IncidentFilters(person_id=uuid.uuid4()), "ix_incidents_person_id_created_at_id"),
    (IncidentFilters(owner_id=uuid.uuid4()), "ix_incidents_owner_id_created_at_id"),
    (IncidentFilters(owner_role=OwnerRole.LEGAL), "ix_incidents_owner_role_created_at_id"),
    (IncidentFilters(overdue=True), "ix_incidents_actionable_created_at_id"),
]


class TestIncidentListPlans:
    @pytest.mark.parametrize(("filters", "index"), FILTERED, ids=lambda v: str(v)[:60])
    async def test_the_first_page_is_read_off_the_index_of_its_filter(
        self, session: AsyncSession, filters: IncidentFilters, index: str
    ) -> None:
        assert_read_off(await plan_of(session, listed(filters), "incidents"), index)

    @pytest.mark.parametrize(("filters", "index"), FILTERED, ids=lambda v: str(v)[:60])
    async def test_a_deep_page_is_read_off_the_same_index(
        self, session: AsyncSession, filters: IncidentFilters, index: str
    ) -> None:
        assert_read_off(await plan_of(session, listed(filters, DEEP), "incidents"), index)


class TestMyActionsPlan:
    async def test_my_actions_reads_only_the_open_incidents_in_deadline_order(
        self, session: AsyncSession
    ) -> None:
        async def listing(session: AsyncSession) -> Any:
            return await service.my_actions(session, caller=HR, page=PageParams())

        assert_read_off(
            await plan_of(session, listing, "incidents"), "ix_incidents_actionable_deadline_at_id"
        )
