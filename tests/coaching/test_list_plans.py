"""Every filter of coaching's engagements list, and the candidates coaching lists itself,
read their rows straight off an index that matches the filter and the order, on SQLite and
PostgreSQL: a page costs the same at a million rows as at ten thousand (issue 16;
``bench/lists.py --service coaching`` times it; how the plan is asked for:
``tests/support/plans.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from coaching.candidates.service import (
    CandidateFilters,
    Position,
    Segment,
    encode_position,
    list_candidates,
)
from coaching.engagements.service import EngagementFilters, list_engagements
from coaching.models import EngagementStatus, Track
from coaching.schemas import CandidateReason
from kit.identity import Caller, PrincipalKind
from kit.pagination import PageParams, encode_cursor
from tests.support.plans import assert_read_off, plan_of
from tests.support.stack import StackHandle

HR = Caller(subject=str(uuid.uuid4()), kind=PrincipalKind.USER, roles=frozenset({"employee", "hr"}))
KEY = ["2026-01-01T00:00:00+00:00", str(uuid.uuid4())]
# A cursor deep in the list: the page after it must come off the same index.
DEEP = PageParams(cursor=encode_cursor(KEY))
DEEP_CANDIDATES = PageParams(cursor=encode_position(Position(Segment.COACHING, encode_cursor(KEY))))


@pytest.fixture
async def session(stack: StackHandle) -> AsyncIterator[AsyncSession]:
    async with stack.stack.database("coaching").transaction(write=False) as session:
        yield session


@pytest.fixture
def gateway(stack: StackHandle) -> httpx.AsyncClient:
    client: httpx.AsyncClient = stack.stack.apps["coaching"].state.gateway
    return client


FILTERED = [
    (EngagementFilters(), "ix_engagements_created_at_id"),
    (EngagementFilters(coachee_id=uuid.uuid4()), "ix_engagements_coachee_id_created_at"),
    (EngagementFilters(coach_id=uuid.uuid4()), "ix_engagements_coach_id_created_at_id"),
    (EngagementFilters(track=Track.REMEDIAL), "ix_engagements_track_created_at_id"),
    (
        EngagementFilters(status=EngagementStatus.ACTIVE),
        "ix_engagements_status_created_at_id",
    ),
]


class TestEngagementListPlans:
    @pytest.mark.parametrize(("filters", "index"), FILTERED, ids=lambda v: str(v)[:60])
    @pytest.mark.parametrize("page", [PageParams(), DEEP], ids=["first", "deep"])
    async def test_a_page_is_read_off_the_index_of_its_filter(
        self,
        session: AsyncSession,
        gateway: httpx.AsyncClient,
        filters: EngagementFilters,
        index: str,
        page: PageParams,
    ) -> None:
        async def listing(session: AsyncSession) -> Any:
            return await list_engagements(session, gateway, caller=HR, filters=filters, page=page)

        assert_read_off(await plan_of(session, listing, "engagements"), index)


class TestCandidatePlans:
    # Both reasons: the status index, the source checked on each row; one reason: the
    # proposed engagements of its source only (at a million rows with no proposed
    # self-nomination, the status index alone read every proposed engagement).
    @pytest.mark.parametrize(
        ("reason", "index"),
        [
            (None, "ix_engagements_status_created_at_id"),
            (CandidateReason.REMEDIAL_PROPOSED, "ix_engagements_status_source_created_at_id"),
            (CandidateReason.SELF_NOMINATION, "ix_engagements_status_source_created_at_id"),
        ],
    )
    @pytest.mark.parametrize("page", [PageParams(), DEEP_CANDIDATES], ids=["first", "deep"])
    async def test_proposed_engagements_are_read_oldest_first_off_the_index_of_their_reason(
        self,
        session: AsyncSession,
        gateway: httpx.AsyncClient,
        reason: CandidateReason | None,
        index: str,
        page: PageParams,
    ) -> None:
        async def listing(session: AsyncSession) -> Any:
            return await list_candidates(
                session, gateway, filters=CandidateFilters(reason=reason), page=page
            )

        plan = await plan_of(session, listing, "engagements")
        assert_read_off(plan, index)

    async def test_the_candidates_of_a_department_read_the_proposed_engagements_of_its_people(
        self, stack: StackHandle, session: AsyncSession, gateway: httpx.AsyncClient
    ) -> None:
        await stack.person(department="Plans")

        async def listing(session: AsyncSession) -> Any:
            return await list_candidates(
                session, gateway, filters=CandidateFilters(department="Plans"), page=PageParams()
            )

        # Each person's proposed engagements by one index (a few rows, sorted), not every
        # proposed engagement's entry in the status indexes, ANDed or walked in order.
        plan = await plan_of(session, listing, "engagements", in_order=False)
        assert "ix_engagements_coachee_id_status_created_at_id" in plan, plan
        assert "ix_engagements_status" not in plan, plan
