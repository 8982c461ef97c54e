"""Training queries and rules. Routes call these; nothing here knows about HTTP."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from training.errors import NoPublishedPolicy
from training.models import Clause, Policy, PolicyVersion, VersionStatus
from training.schemas import ClauseRead, PolicyVersionRead


async def current_policy(session: AsyncSession) -> PolicyVersionRead:
    """The published version of the policy, with its clauses in order."""
    row = (
        await session.execute(
            select(PolicyVersion, Policy)
            .join(Policy, col(Policy.id) == col(PolicyVersion.policy_id))
            .where(col(PolicyVersion.status) == VersionStatus.PUBLISHED)
            .order_by(col(PolicyVersion.published_at).desc())
            .limit(1)
        )
    ).one_or_none()
    if row is None:
        raise NoPublishedPolicy("No version of the social media policy has been published yet.")
    version, policy = row
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
        effective_at=version.effective_at,
        published_at=version.published_at,
        clauses=[ClauseRead(number=c.number, title=c.title, body=c.body) for c in clauses],
    )
