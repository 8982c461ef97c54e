"""Incidents queries and rules. Routes call these; nothing here knows about HTTP."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from incidents.errors import NoPublishedEscalationPolicy
from incidents.models import EscalationPolicy, EscalationRule, PolicyStatus
from incidents.schemas import EscalationPolicyRead, EscalationRuleRead


async def current_escalation_policy(session: AsyncSession) -> EscalationPolicyRead:
    """The published escalation policy with its rules in evaluation order."""
    policy = await session.scalar(
        select(EscalationPolicy).where(col(EscalationPolicy.status) == PolicyStatus.PUBLISHED)
    )
    if policy is None:
        raise NoPublishedEscalationPolicy("No escalation policy has been published yet.")
    rules = await session.scalars(
        select(EscalationRule)
        .where(col(EscalationRule.policy_id) == policy.id)
        .order_by(col(EscalationRule.position))
    )
    return EscalationPolicyRead(
        id=policy.id,
        number=policy.number,
        status=policy.status,
        notes=policy.notes,
        published_at=policy.published_at,
        rules=[EscalationRuleRead.model_validate(rule) for rule in rules],
    )
