"""Recertification of policy acknowledgements (issue 19, point 3).

A version with ``renew_acknowledgement_every_months`` makes each acknowledgement of it valid
that many months (``Acknowledgement.expires_at``, set when it is given). The reconciliation
asks the person to renew it ahead of expiry, once per acknowledgement
(``renewal_requested_at``); acknowledging the version again then records a new
acknowledgement in the next cycle, which renews it. One that expires without a renewal has
lapsed: ``overdue`` in the person's training, the reports and the signals.

Only the person's latest acknowledgement of the current version counts: a new version asks
everyone anew, whatever they acknowledged before.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, exists, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from training import events
from training.policy.models import Acknowledgement, Policy, PolicyVersion, VersionStatus
from training.policy.schemas import AcknowledgementStatus
from training.recertification import add_months

CHUNK = 500


def expiry(version: PolicyVersion, acknowledged_at: dt.datetime) -> dt.datetime | None:
    months = version.renew_acknowledgement_every_months
    return add_months(acknowledged_at, months) if months else None


def status_of(
    version: PolicyVersion, latest: Acknowledgement | None, now: dt.datetime
) -> AcknowledgementStatus:
    """A person's acknowledgement of the current version, from their latest one."""
    if latest is None:
        if not version.requires_acknowledgement:
            return AcknowledgementStatus.NOT_REQUIRED
        return AcknowledgementStatus.PENDING
    if latest.expires_at is not None and latest.expires_at <= now:
        return AcknowledgementStatus.OVERDUE
    if latest.renewal_requested_at is not None:
        return AcknowledgementStatus.RENEWAL_DUE
    return AcknowledgementStatus.ACKNOWLEDGED


def renewable(latest: Acknowledgement, now: dt.datetime) -> bool:
    """Whether acknowledging again renews it (a new acknowledgement) rather than repeating
    it: a renewal was asked for, or it lapsed."""
    lapsed = latest.expires_at is not None and latest.expires_at <= now
    return lapsed or latest.renewal_requested_at is not None


def is_latest() -> Any:
    """No later acknowledgement of the same version by the same person (the unique index on
    version, person and cycle answers it)."""
    newer = aliased(Acknowledgement)
    return ~exists().where(
        col(newer.version_id) == col(Acknowledgement.version_id),
        col(newer.person_id) == col(Acknowledgement.person_id),
        col(newer.cycle) > col(Acknowledgement.cycle),
    )


def awaiting_renewal() -> Any:
    """Latest acknowledgements of the current version the person was asked to renew (a
    leaver's request is withdrawn, see :func:`request_renewals`)."""
    return and_(
        col(PolicyVersion.status) == VersionStatus.PUBLISHED,
        col(Acknowledgement.renewal_requested_at).is_not(None),
        is_latest(),
    )


def lapsed(now: dt.datetime) -> Any:
    """Those of :func:`awaiting_renewal` that expired."""
    return and_(awaiting_renewal(), col(Acknowledgement.expires_at) <= now)


async def latest_acknowledgements(
    session: AsyncSession, *, version: PolicyVersion, person_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Acknowledgement]:
    """Each person's latest acknowledgement of ``version`` (none: never acknowledged)."""
    ids = list(person_ids)
    latest: dict[uuid.UUID, Acknowledgement] = {}
    for start in range(0, len(ids), CHUNK):
        rows = await session.scalars(
            select(Acknowledgement).where(
                col(Acknowledgement.version_id) == version.id,
                col(Acknowledgement.person_id).in_(ids[start : start + CHUNK]),
            )
        )
        for row in rows:
            if row.person_id not in latest or row.cycle > latest[row.person_id].cycle:
                latest[row.person_id] = row
    return latest


async def request_renewals(
    session: AsyncSession, *, active: set[uuid.UUID], now: dt.datetime, lead: dt.timedelta
) -> int:
    """Ask every active person whose latest acknowledgement of the current version expires
    within ``lead`` to renew it, once per acknowledgement (``renewal_requested_at``, and a
    ``training.acknowledgement.requested`` event); withdraw a leaver's open request. Returns
    how many were asked."""
    row = (
        await session.execute(
            select(PolicyVersion, Policy)
            .join(Policy, col(Policy.id) == col(PolicyVersion.policy_id))
            .where(col(PolicyVersion.status) == VersionStatus.PUBLISHED)
        )
    ).first()
    if row is None:
        return 0
    version, policy = row
    await _withdraw_leavers(session, version=version, active=active)
    due = (
        await session.execute(
            select(Acknowledgement.id, Acknowledgement.person_id).where(
                col(Acknowledgement.version_id) == version.id,
                col(Acknowledgement.expires_at) <= now + lead,
                col(Acknowledgement.renewal_requested_at).is_(None),
                is_latest(),
            )
        )
    ).all()
    ids = [ack_id for ack_id, person_id in due if person_id in active]
    asked = 0
    for start in range(0, len(ids), CHUNK):
        # Guarded and returning: of two passes at once, only one asks (and tells) each.
        requested = await session.execute(
            update(Acknowledgement)
            .where(
                col(Acknowledgement.id).in_(ids[start : start + CHUNK]),
                col(Acknowledgement.renewal_requested_at).is_(None),
            )
            .values(renewal_requested_at=now)
            .returning(
                col(Acknowledgement.id),
                col(Acknowledgement.person_id),
                col(Acknowledgement.expires_at),
            )
            .execution_options(synchronize_session=False)
        )
        for ack_id, person_id, expires_at in requested.all():
            await events.acknowledgement_renewal_requested(
                session,
                version=version,
                policy_title=policy.title,
                acknowledgement_id=ack_id,
                person_id=person_id,
                due_at=expires_at,
            )
            asked += 1
    return asked


async def _withdraw_leavers(
    session: AsyncSession, *, version: PolicyVersion, active: set[uuid.UUID]
) -> None:
    """A leaver's open renewal request is withdrawn: their lapse is no signal for coaching
    (as a leaver's open assignments close as `left`); a returner is asked again."""
    requested = (
        await session.execute(
            select(Acknowledgement.id, Acknowledgement.person_id).where(
                col(Acknowledgement.version_id) == version.id,
                col(Acknowledgement.renewal_requested_at).is_not(None),
                is_latest(),
            )
        )
    ).all()
    gone = [ack_id for ack_id, person_id in requested if person_id not in active]
    for start in range(0, len(gone), CHUNK):
        await session.execute(
            update(Acknowledgement)
            .where(col(Acknowledgement.id).in_(gone[start : start + CHUNK]))
            .values(renewal_requested_at=None)
            .execution_options(synchronize_session=False)
        )
