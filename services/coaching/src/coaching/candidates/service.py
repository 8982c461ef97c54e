"""Candidates for coaching, from two sources read one after the other:

1. coaching's own: remedial engagements still proposed, and self-nominations still proposed
   (oldest first, keyset on ``(created_at, id)``);
2. training's signals: quiz failed at its attempt limit, training overdue (training's own
   order and cursor).

The page cursor names the source and the position in it, so paging stays keyset-based in
both. If a page needs training and training cannot answer, the whole request is a 503:
a list silently missing training's candidates would look complete and be wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from coaching import upstream
from coaching.models import Engagement, EngagementStatus, Source
from coaching.schemas import Candidate, CandidateReason
from kit.pagination import (
    InvalidCursor,
    PageParams,
    decode_cursor_payload,
    encode_cursor_payload,
    paginate,
)

LOCAL_REASONS = {
    CandidateReason.REMEDIAL_PROPOSED: Source.INCIDENT,
    CandidateReason.SELF_NOMINATION: Source.SELF_NOMINATION,
}
TRAINING_REASONS = frozenset(
    {CandidateReason.QUIZ_ATTEMPTS_EXHAUSTED, CandidateReason.TRAINING_OVERDUE}
)


class Segment(StrEnum):
    COACHING = "coaching"
    TRAINING = "training"


SEGMENTS = frozenset(segment.value for segment in Segment)


@dataclass(frozen=True, slots=True)
class Position:
    segment: Segment
    cursor: str | None


@dataclass(frozen=True, slots=True)
class CandidateFilters:
    reason: CandidateReason | None = None
    department: str | None = None

    def wants(self, segment: Segment) -> bool:
        if self.reason is None:
            return True
        local = self.reason in LOCAL_REASONS
        return local if segment is Segment.COACHING else not local


def encode_position(position: Position) -> str:
    return encode_cursor_payload({"s": position.segment.value, "c": position.cursor})


def decode_position(cursor: str | None) -> Position:
    if cursor is None:
        return Position(Segment.COACHING, None)
    raw = decode_cursor_payload(cursor)
    if not isinstance(raw, dict) or set(raw) != {"s", "c"}:
        raise InvalidCursor("it was made for another list")
    inner = raw["c"]
    if raw["s"] not in SEGMENTS or not (inner is None or isinstance(inner, str)):
        raise InvalidCursor("it names no place in this list")
    return Position(Segment(raw["s"]), inner)


async def list_candidates(
    session: AsyncSession,
    gateway: httpx.AsyncClient,
    *,
    filters: CandidateFilters,
    page: PageParams,
) -> tuple[list[Candidate], str | None]:
    position = decode_position(page.cursor)
    items, next_position = await _page(
        session, gateway, filters=filters, limit=page.limit, position=position
    )
    next_cursor = encode_position(next_position) if next_position else None
    return await _named(gateway, items), next_cursor


async def _page(
    session: AsyncSession,
    gateway: httpx.AsyncClient,
    *,
    filters: CandidateFilters,
    limit: int,
    position: Position,
) -> tuple[list[Candidate], Position | None]:
    """Up to ``limit`` candidates from ``position`` on, and where the next page starts."""
    items: list[Candidate] = []
    if position.segment is Segment.COACHING:
        if filters.wants(Segment.COACHING):
            items, inner = await _local(
                session, gateway, filters=filters, limit=limit, cursor=position.cursor
            )
            if inner is not None:
                return items, Position(Segment.COACHING, inner)
        position = Position(Segment.TRAINING, None)
    if not filters.wants(Segment.TRAINING):
        return items, None
    room = limit - len(items)
    if room == 0:
        return items, position
    signals, inner = await _training(gateway, filters=filters, limit=room, cursor=position.cursor)
    return items + signals, Position(Segment.TRAINING, inner) if inner else None


async def _training(
    gateway: httpx.AsyncClient, *, filters: CandidateFilters, limit: int, cursor: str | None
) -> tuple[list[Candidate], str | None]:
    page = await upstream.training_signals(
        gateway,
        reason=filters.reason.value if filters.reason else None,
        department=filters.department,
        limit=limit,
        cursor=cursor,
    )
    candidates = [
        Candidate(
            person_id=signal.person_id,
            reason=CandidateReason(signal.reason),
            since=signal.since,
            detail=signal.detail or "",
            module_id=signal.module_id,
        )
        for signal in page.items
        if signal.reason in TRAINING_REASONS
    ]
    return candidates, page.next_cursor


async def _local(
    session: AsyncSession,
    gateway: httpx.AsyncClient,
    *,
    filters: CandidateFilters,
    limit: int,
    cursor: str | None,
) -> tuple[list[Candidate], str | None]:
    source = col(Engagement.source)
    # One reason: its source by equality, which reads ix_engagements_status_source_created_at_id
    # in order; both: the status index, the source checked on each row.
    if filters.reason in LOCAL_REASONS:
        of_source = source == LOCAL_REASONS[filters.reason]
    else:
        of_source = source.in_(list(LOCAL_REASONS.values()))
    statement = select(Engagement).where(
        col(Engagement.status) == EngagementStatus.PROPOSED, of_source
    )
    if filters.department is not None:
        members = await upstream.department_members(gateway, filters.department)
        statement = statement.where(col(Engagement.coachee_id).in_(members))
    rows, inner = await paginate(
        session,
        statement,
        order_by=[Engagement.created_at, Engagement.id],
        params=PageParams(limit=limit, cursor=cursor),
    )
    return [_from_engagement(row) for row in rows], inner


def _from_engagement(engagement: Engagement) -> Candidate:
    if engagement.source is Source.INCIDENT:
        reason = CandidateReason.REMEDIAL_PROPOSED
        detail = f"Remedial coaching after incident {engagement.incident_id} awaits a start."
    else:
        reason = CandidateReason.SELF_NOMINATION
        detail = f"Asked for {engagement.track} coaching."
    return Candidate(
        person_id=engagement.coachee_id,
        reason=reason,
        since=engagement.created_at,
        detail=detail,
        engagement_id=engagement.id,
    )


async def _named(gateway: httpx.AsyncClient, items: list[Candidate]) -> list[Candidate]:
    """Add names and departments from the directory, one bulk lookup per page."""
    people = await upstream.people(gateway, {item.person_id for item in items})
    return [
        item.model_copy(
            update={
                "display_name": people[item.person_id].display_name,
                "department": people[item.person_id].department,
            }
        )
        if item.person_id in people
        else item
        for item in items
    ]
