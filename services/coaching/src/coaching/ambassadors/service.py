"""The ambassador program: eligibility (asked of training), applications and decisions,
and the current ambassadors.

Suspension is not stored: an approved ambassador is suspended exactly while a decision
about them that suspends is in force (``measures.service.suspended``), so closing the
incident and completing its remedial coaching, or withdrawing the incident, reinstates
them without anyone having to remember to.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import httpx
from sqlalchemy import ColumnElement, exists
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import col, select

from coaching import upstream
from coaching.ambassadors import rules
from coaching.errors import ApplicationNotFound, IllegalTransition, NotEligible
from coaching.measures.service import suspended
from coaching.models import (
    OPEN_STATUSES,
    AmbassadorApplication,
    ApplicationStatus,
    Engagement,
    Track,
)
from coaching.schemas import AmbassadorRead, AmbassadorStatus, ApplicationCreate, Eligibility
from kit.concurrency import check_if_match
from kit.db import flush_unless_duplicate, utcnow
from kit.errors import Forbidden
from kit.identity import Caller
from kit.pagination import PageParams, paginate

LIVE_STATUSES = (ApplicationStatus.PENDING, ApplicationStatus.APPROVED)


def _open_remedial(person_id: Mapped[uuid.UUID] | uuid.UUID) -> ColumnElement[bool]:
    """An open remedial engagement of ``person_id`` (a value, or the outer query's column)."""
    return exists().where(
        col(Engagement.coachee_id) == person_id,
        col(Engagement.track) == Track.REMEDIAL,
        col(Engagement.status).in_(OPEN_STATUSES),
    )


async def _live_application(
    session: AsyncSession, person_id: uuid.UUID
) -> AmbassadorApplication | None:
    return await session.scalar(
        select(AmbassadorApplication).where(
            col(AmbassadorApplication.person_id) == person_id,
            col(AmbassadorApplication.status).in_(LIVE_STATUSES),
        )
    )


async def eligibility(
    session: AsyncSession, gateway: httpx.AsyncClient, *, person_id: uuid.UUID
) -> Eligibility:
    """Our own facts, and training's answer on the social media training (503 if training
    cannot answer: we never guess)."""
    open_remedial = bool(await session.scalar(select(_open_remedial(person_id))))
    live = await _live_application(session, person_id)
    training_completed = await upstream.core_training_completed(gateway, person_id)
    return rules.eligibility(
        person_id,
        training_completed=training_completed,
        open_remedial=open_remedial,
        live_application=live.status if live else None,
    )


async def apply(
    session: AsyncSession,
    gateway: httpx.AsyncClient,
    *,
    person_id: uuid.UUID,
    data: ApplicationCreate,
) -> AmbassadorApplication:
    verdict = await eligibility(session, gateway, person_id=person_id)
    if not verdict.eligible:
        raise _not_eligible(verdict)
    application = AmbassadorApplication.model_validate(
        data.model_dump(), update={"person_id": person_id}
    )
    if not await flush_unless_duplicate(session, application):
        # A concurrent application by the same person took the one live slot.
        raise NotEligible("There is already a pending application.")
    return application


def _not_eligible(verdict: Eligibility) -> NotEligible:
    return NotEligible(
        " ".join(reason.detail for reason in verdict.reasons),
        extensions={"reasons": [reason.model_dump(mode="json") for reason in verdict.reasons]},
    )


async def list_applications(
    session: AsyncSession,
    *,
    caller: Caller,
    status: ApplicationStatus | None,
    page: PageParams,
) -> tuple[list[AmbassadorApplication], str | None]:
    """Oldest first; policy owners and HR see all, everyone else their own."""
    statement = select(AmbassadorApplication)
    if not rules.reads_program(caller):
        statement = statement.where(col(AmbassadorApplication.person_id) == caller.person_id)
    if status is not None:
        statement = statement.where(col(AmbassadorApplication.status) == status)
    return await paginate(
        session,
        statement,
        order_by=[AmbassadorApplication.created_at, AmbassadorApplication.id],
        params=page,
    )


async def visible_application(
    session: AsyncSession, *, caller: Caller, application_id: uuid.UUID
) -> AmbassadorApplication:
    application = await session.get(AmbassadorApplication, application_id)
    if application is None or not (
        caller.is_person(application.person_id) or rules.reads_program(caller)
    ):
        raise ApplicationNotFound(f"There is no application {application_id} you can see.")
    return application


async def decide(
    session: AsyncSession,
    *,
    caller: Caller,
    application: AmbassadorApplication,
    approve: bool,
    reason: str | None,
    if_match: str | None,
) -> AmbassadorApplication:
    if not caller.has_role(*rules.PROGRAM_OWNERS):
        raise Forbidden("Only policy owners approve or reject ambassador applications.")
    check_if_match(if_match, current_version=application.version)
    if application.status is not ApplicationStatus.PENDING:
        raise IllegalTransition(
            f"This application is already {application.status}; only pending ones are decided."
        )
    application.status = ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
    application.decided_by = caller.person_id
    application.decided_at = utcnow()
    application.decision_reason = reason
    await session.flush()
    return application


async def list_ambassadors(
    session: AsyncSession, *, include_suspended: bool, page: PageParams
) -> tuple[list[AmbassadorRead], str | None]:
    """Approved ambassadors, longest-standing first; suspended ones only when asked."""
    statement = select(AmbassadorApplication).where(
        col(AmbassadorApplication.status) == ApplicationStatus.APPROVED
    )
    if not include_suspended:
        statement = statement.where(~suspended(col(AmbassadorApplication.person_id)))
    rows, next_cursor = await paginate(
        session,
        statement,
        order_by=[AmbassadorApplication.created_at, AmbassadorApplication.id],
        params=page,
    )
    suspended_ids = await _suspended(session, (row.person_id for row in rows))
    return [
        AmbassadorRead(
            person_id=row.person_id,
            application_id=row.id,
            since=row.decided_at or row.created_at,
            status=AmbassadorStatus.SUSPENDED
            if row.person_id in suspended_ids
            else AmbassadorStatus.ACTIVE,
        )
        for row in rows
    ], next_cursor


async def _suspended(session: AsyncSession, person_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = list(set(person_ids))
    if not ids:
        return set()
    person = col(AmbassadorApplication.person_id)
    rows = await session.scalars(
        select(person)
        .where(
            person.in_(ids),
            col(AmbassadorApplication.status) == ApplicationStatus.APPROVED,
            suspended(person),
        )
        .distinct()
    )
    return set(rows.all())
