"""Policy versions and acknowledgements. Routes call these; nothing here knows about HTTP."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from kit.db import flush_unless_duplicate, utcnow
from kit.errors import Conflict, Unprocessable
from kit.pagination import PageParams, paginate
from training import events
from training.errors import (
    NoPublishedPolicy,
    NotCurrentVersion,
    PolicyVersionNotFound,
    VersionNotEditable,
)
from training.policy import renewal
from training.policy.models import Acknowledgement, Clause, Policy, PolicyVersion, VersionStatus
from training.policy.schemas import (
    RENEWAL_FIELD,
    RENEWAL_NEEDS_ACKNOWLEDGEMENT,
    ClauseIn,
    ClauseRead,
    MyAcknowledgement,
    PolicyVersionCreate,
    PolicyVersionRead,
    PolicyVersionUpdate,
)

POLICY_TITLE = "Social media policy"


async def published_version(session: AsyncSession) -> PolicyVersion | None:
    return await session.scalar(
        select(PolicyVersion).where(col(PolicyVersion.status) == VersionStatus.PUBLISHED).limit(1)
    )


async def current_version(session: AsyncSession) -> PolicyVersion:
    version = await published_version(session)
    if version is None:
        raise NoPublishedPolicy("No version of the social media policy has been published yet.")
    return version


async def current_policy(session: AsyncSession) -> PolicyVersionRead:
    """The published version of the policy, with its clauses in order."""
    return await read_version(session, await current_version(session))


async def clause_numbers_in_force(session: AsyncSession) -> set[str]:
    """The clause numbers of the current version (what training content may cite)."""
    numbers = await session.scalars(
        select(Clause.number)
        .join(PolicyVersion, col(PolicyVersion.id) == col(Clause.version_id))
        .where(col(PolicyVersion.status) == VersionStatus.PUBLISHED)
    )
    return set(numbers)


async def read_version(session: AsyncSession, version: PolicyVersion) -> PolicyVersionRead:
    policy = await session.get(Policy, version.policy_id)
    assert policy is not None
    clauses = await session.scalars(
        select(Clause).where(col(Clause.version_id) == version.id).order_by(col(Clause.position))
    )
    return PolicyVersionRead(
        id=version.id,
        policy_id=policy.id,
        title=policy.title,
        number=version.number,
        status=version.status,
        body_markdown=version.body_markdown,
        requires_acknowledgement=version.requires_acknowledgement,
        renew_acknowledgement_every_months=version.renew_acknowledgement_every_months,
        effective_at=version.effective_at,
        published_at=version.published_at,
        retired_at=version.retired_at,
        clauses=[ClauseRead(number=c.number, title=c.title, body=c.body) for c in clauses],
    )


async def list_versions(
    session: AsyncSession, *, page: PageParams, include_drafts: bool
) -> tuple[list[PolicyVersion], str | None]:
    """Versions, newest first; drafts only for authors."""
    statement = select(PolicyVersion)
    if not include_drafts:
        statement = statement.where(col(PolicyVersion.status) != VersionStatus.DRAFT)
    return await paginate(
        session,
        statement,
        order_by=[PolicyVersion.created_at, PolicyVersion.id],
        params=page,
        descending=True,
    )


async def get_version(
    session: AsyncSession, *, version_id: uuid.UUID, include_drafts: bool
) -> PolicyVersion:
    version = await session.get(PolicyVersion, version_id)
    # A draft is invisible to readers: they get the same answer as for no such version.
    if version is None or (version.status is VersionStatus.DRAFT and not include_drafts):
        raise PolicyVersionNotFound(f"There is no policy version {version_id}.")
    return version


async def _the_policy(session: AsyncSession) -> Policy:
    policy = await session.scalar(select(Policy).order_by(col(Policy.created_at)).limit(1))
    if policy is None:
        policy = Policy(title=POLICY_TITLE)
        session.add(policy)
        await session.flush()
    return policy


async def create_draft(session: AsyncSession, *, data: PolicyVersionCreate) -> PolicyVersion:
    policy = await _the_policy(session)
    latest = await session.scalar(
        select(PolicyVersion)
        .where(col(PolicyVersion.policy_id) == policy.id)
        .order_by(col(PolicyVersion.number).desc())
        .limit(1)
    )
    fields = data.model_dump(exclude={"clauses"})
    if RENEWAL_FIELD not in data.model_fields_set and latest is not None:
        # Recertification carries over to the next version, as a module's to its revision.
        fields[RENEWAL_FIELD] = (
            latest.renew_acknowledgement_every_months if data.requires_acknowledgement else None
        )
    version = PolicyVersion.model_validate(
        fields, update={"policy_id": policy.id, "number": (latest.number if latest else 0) + 1}
    )
    if not await flush_unless_duplicate(session, version):
        raise Conflict("Another draft was created at the same moment; try again.")
    _add_clauses(session, version, data.clauses)
    await session.flush()
    return version


def _add_clauses(session: AsyncSession, version: PolicyVersion, clauses: list[ClauseIn]) -> None:
    session.add_all(
        Clause(version_id=version.id, position=position, **clause.model_dump())
        for position, clause in enumerate(clauses)
    )


def _require_draft(version: PolicyVersion) -> None:
    if version.status is not VersionStatus.DRAFT:
        raise VersionNotEditable(
            f"Version {version.number} is {version.status.value} and can no longer change; "
            "create a new draft instead."
        )


async def update_draft(
    session: AsyncSession, *, version: PolicyVersion, data: PolicyVersionUpdate
) -> PolicyVersion:
    _require_draft(version)
    changes = data.model_dump(exclude_unset=True, exclude={"clauses"})
    for field, value in changes.items():
        if value is None and field in {"body_markdown", "requires_acknowledgement"}:
            raise Unprocessable(f"{field} cannot be null.")
        setattr(version, field, value)
    if version.renew_acknowledgement_every_months and not version.requires_acknowledgement:
        raise Unprocessable(f"{RENEWAL_FIELD} {RENEWAL_NEEDS_ACKNOWLEDGEMENT}.")
    if data.clauses is not None:
        await session.execute(delete(Clause).where(col(Clause.version_id) == version.id))
        _add_clauses(session, version, data.clauses)
    # Touch the row so the version (ETag) moves even when only clauses changed.
    version.updated_at = utcnow()
    session.add(version)
    await session.flush()
    return version


async def publish(session: AsyncSession, *, version: PolicyVersion) -> PolicyVersion:
    """Make a draft the current version; the previous current version is retired."""
    _require_draft(version)
    clause_count = await session.scalar(
        select(func.count()).select_from(Clause).where(col(Clause.version_id) == version.id)
    )
    if not clause_count:
        raise Unprocessable("A policy version needs at least one clause before it is published.")
    now = utcnow()
    previous = await session.scalar(
        select(PolicyVersion).where(
            col(PolicyVersion.policy_id) == version.policy_id,
            col(PolicyVersion.status) == VersionStatus.PUBLISHED,
        )
    )
    if previous is not None:
        previous.status = VersionStatus.RETIRED
        previous.retired_at = now
        session.add(previous)
        # Retire first: the one-published-version index must never see two.
        await session.flush()
    version.status = VersionStatus.PUBLISHED
    version.published_at = now
    version.effective_at = version.effective_at or now
    version.updated_at = now
    if not await flush_unless_duplicate(session, version):
        raise Conflict("Another version was published at the same moment; reload.")
    policy = await session.get(Policy, version.policy_id)
    await events.policy_published(
        session, version=version, policy_title=policy.title if policy else ""
    )
    return version


async def retire(session: AsyncSession, *, version: PolicyVersion) -> PolicyVersion:
    if version.status is not VersionStatus.PUBLISHED:
        raise VersionNotEditable(
            f"Version {version.number} is {version.status.value}; only the published "
            "version can be retired."
        )
    version.status = VersionStatus.RETIRED
    version.retired_at = version.updated_at = utcnow()
    session.add(version)
    await session.flush()
    return version


async def acknowledge(
    session: AsyncSession, *, person_id: uuid.UUID, version_id: uuid.UUID
) -> tuple[Acknowledgement, bool]:
    """Acknowledge the current version. Returns the acknowledgement and whether it is new.
    Acknowledging again returns the latest one, unless a renewal was asked for or it
    lapsed: then a new acknowledgement (the next cycle) renews it."""
    current = await current_version(session)
    if current.id != version_id:
        raise NotCurrentVersion(
            f"Version {version_id} is not the current policy (version {current.number}, "
            f"id {current.id}); read the current version and acknowledge that one."
        )
    latest = await _latest(session, person_id=person_id, version=current)
    now = utcnow()
    if latest is not None and not renewal.renewable(latest, now):
        return latest, False
    acknowledgement = Acknowledgement(
        version_id=version_id,
        person_id=person_id,
        acknowledged_at=now,
        cycle=latest.cycle + 1 if latest is not None else 0,
        expires_at=renewal.expiry(current, now),
    )
    if not await flush_unless_duplicate(session, acknowledgement):
        # A double click: the other request recorded it.
        latest = await _latest(session, person_id=person_id, version=current)
        assert latest is not None
        return latest, False
    return acknowledgement, True


async def _latest(
    session: AsyncSession, *, person_id: uuid.UUID, version: PolicyVersion
) -> Acknowledgement | None:
    found = await renewal.latest_acknowledgements(session, version=version, person_ids=[person_id])
    return found.get(person_id)


async def my_acknowledgement(session: AsyncSession, *, person_id: uuid.UUID) -> MyAcknowledgement:
    version = await current_version(session)
    return await acknowledgement_of(session, version=version, person_id=person_id)


async def acknowledgement_of(
    session: AsyncSession, *, version: PolicyVersion, person_id: uuid.UUID
) -> MyAcknowledgement:
    """The person's acknowledgement status of ``version`` (the current one)."""
    latest = await _latest(session, person_id=person_id, version=version)
    return MyAcknowledgement(
        version_id=version.id,
        version_number=version.number,
        requires_acknowledgement=version.requires_acknowledgement,
        status=renewal.status_of(version, latest, utcnow()),
        acknowledged_at=latest.acknowledged_at if latest else None,
        expires_at=latest.expires_at if latest else None,
        renewal_requested_at=latest.renewal_requested_at if latest else None,
    )
