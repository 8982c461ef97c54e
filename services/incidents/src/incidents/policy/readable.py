"""The published escalation policy as every employee reads it (no internal notes)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from incidents.policy import approvals, rendering
from incidents.policy.models import EscalationPolicy, Verdict
from incidents.policy.schemas import (
    AgreedRead,
    EscalationRuleRead,
    PlainRuleRead,
    PublishedPolicyRead,
    ReadableRuleRead,
)
from incidents.policy.service import rules_of
from incidents.policy.signoff import content_hash


async def readable_policy(
    session: AsyncSession, *, policy: EscalationPolicy, language: str
) -> PublishedPolicyRead:
    rules = await rules_of(session, policy=policy)
    digest = content_hash(notes=policy.notes, rules=rules)
    approved_at = {}
    for verdict in await approvals.verdicts_of(session, policy_id=policy.id):
        if (
            verdict.verdict is Verdict.APPROVED
            and verdict.withdrawn_at is None
            and verdict.content_hash == digest
        ):
            approved_at[verdict.approver] = verdict.at
    agreed_by = [
        AgreedRead(approver=approver, at=approved_at[approver])
        for approver in policy.required_approvers or []
        if approver in approved_at
    ]
    return PublishedPolicyRead(
        id=policy.id,
        number=policy.number,
        published_at=policy.published_at,
        language=language,
        intro=rendering.intro(language),
        agreed=rendering.agreed([a.approver for a in agreed_by], policy.published_at, language),
        agreed_by=agreed_by,
        rules=[
            ReadableRuleRead(
                **EscalationRuleRead.model_validate(rule).model_dump(),
                plain=PlainRuleRead.model_validate(rendering.render_rule(rule, language=language)),
            )
            for rule in rules
        ],
    )
