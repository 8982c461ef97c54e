"""The events training emits (kit.outbox), written in the transaction of the change.

Payloads carry ids and what a receiver needs to route and word a message (a module's
title, a due date): never quiz answers or scores.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from training.assignments.models import Assignment
from training.db import outbox
from training.policy.models import PolicyVersion


def _assignment(
    *,
    assignment_id: uuid.UUID,
    person_id: uuid.UUID,
    module_id: uuid.UUID,
    module_title: str,
    due_at: dt.datetime,
) -> dict[str, Any]:
    return {
        "assignment_id": assignment_id,
        "person_id": person_id,
        "module_id": module_id,
        "module_title": module_title,
        "due_at": due_at,
    }


async def assignments_created(
    session: AsyncSession, *, assignments: Iterable[Assignment], module_title: str
) -> None:
    """``training.assignment.created``, one per new assignment (whoever made it: a policy
    owner, an assignment rule, a remedial request, a revision or a renewal)."""
    for assignment in assignments:
        await outbox.emit(
            session,
            "training.assignment.created",
            {
                **_assignment(
                    assignment_id=assignment.id,
                    person_id=assignment.person_id,
                    module_id=assignment.module_id,
                    module_title=module_title,
                    due_at=assignment.due_at,
                ),
                "renewal": assignment.renewal_of is not None,
            },
        )


async def assignment_due(session: AsyncSession, *, kind: str, row: Any) -> None:
    """``training.assignment.reminder`` (due soon) or ``training.assignment.overdue``;
    ``row`` has the assignment's ids, due date and module title."""
    await outbox.emit(
        session,
        f"training.assignment.{kind}",
        _assignment(
            assignment_id=row.id,
            person_id=row.person_id,
            module_id=row.module_id,
            module_title=row.title,
            due_at=row.due_at,
        ),
    )


def _version(version: PolicyVersion, policy_title: str) -> dict[str, Any]:
    return {
        "policy_id": version.policy_id,
        "version_id": version.id,
        "number": version.number,
        "title": policy_title,
        "effective_at": version.effective_at,
        "requires_acknowledgement": version.requires_acknowledgement,
    }


async def policy_published(
    session: AsyncSession, *, version: PolicyVersion, policy_title: str
) -> None:
    """``policy.published``; and ``training.acknowledgement.requested`` when the version
    asks every active employee to acknowledge it (one event for all of them: the gateway
    knows who is active)."""
    data = _version(version, policy_title)
    await outbox.emit(session, "policy.published", data)
    if version.requires_acknowledgement:
        await outbox.emit(
            session,
            "training.acknowledgement.requested",
            {**data, "requested_of": "every_active_employee"},
        )


async def acknowledgement_renewal_requested(
    session: AsyncSession,
    *,
    version: PolicyVersion,
    policy_title: str,
    acknowledgement_id: uuid.UUID,
    person_id: uuid.UUID,
    due_at: dt.datetime | None,
) -> None:
    """``training.acknowledgement.requested`` of one person: their acknowledgement of the
    current version expires on ``due_at`` and must be renewed (recertification)."""
    await outbox.emit(
        session,
        "training.acknowledgement.requested",
        {
            **_version(version, policy_title),
            "requested_of": "person",
            "person_id": person_id,
            "acknowledgement_id": acknowledgement_id,
            "due_at": due_at,
        },
    )


async def acknowledgement_due(session: AsyncSession, *, kind: str, row: Any) -> None:
    """``training.acknowledgement.reminder`` (its renewal is due soon) or
    ``training.acknowledgement.overdue`` (it lapsed unrenewed); ``row`` has the
    acknowledgement's ids and expiry, and its version's number and policy title."""
    await outbox.emit(
        session,
        f"training.acknowledgement.{kind}",
        {
            "policy_id": row.policy_id,
            "version_id": row.version_id,
            "number": row.number,
            "title": row.title,
            "person_id": row.person_id,
            "acknowledgement_id": row.id,
            "due_at": row.expires_at,
        },
    )
