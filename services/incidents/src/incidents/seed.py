"""The default escalation policy of DESIGN §3, published on first start."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from incidents.models import EscalationPolicy, EscalationRule, PolicyStatus
from kit.db import Database, utcnow

# In evaluation order: the first rule that matches decides.
DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "name": "Critical: legal and HR act at once",
        "severities": ["critical"],
        "action": "legal_review",
        "contacts": ["legal", "hr"],
        "owner_role": "legal",
        "deadline_hours": 24,
    },
    {
        "name": "Repeated again after completed coaching: disciplinary review",
        "min_prior_incidents": 2,
        "min_completed_remedial": 1,
        "window_days": 365,
        "action": "disciplinary_review",
        "contacts": ["hr", "manager"],
        "owner_role": "hr",
        "deadline_hours": 72,
    },
    {
        "name": "Repeated after completed coaching: HR review",
        "min_prior_incidents": 1,
        "min_completed_remedial": 1,
        "window_days": 365,
        "action": "hr_review",
        "contacts": ["hr", "manager"],
        "owner_role": "hr",
        "deadline_hours": 72,
    },
    {
        "name": "High: HR with the manager",
        "severities": ["high"],
        "action": "hr_review",
        "contacts": ["hr", "manager"],
        "owner_role": "hr",
        "deadline_hours": 72,
    },
    {
        "name": "Medium: coaching, manager informed",
        "severities": ["medium"],
        "action": "coaching",
        "contacts": ["manager"],
        "owner_role": "manager",
        "deadline_hours": 168,
    },
    {
        "name": "Low: coaching",
        "severities": ["low"],
        "action": "coaching",
        "contacts": [],
        "owner_role": "coach",
        "deadline_hours": 336,
    },
]


async def seed(database: Database) -> bool:
    """Publish the default policy unless one exists. Returns whether it loaded."""
    async with database.transaction() as session:
        if await session.scalar(select(func.count()).select_from(EscalationPolicy)):
            return False
        policy = EscalationPolicy(
            number=1,
            status=PolicyStatus.PUBLISHED,
            notes="Default scheme agreed with HR and legal.",
            published_at=utcnow(),
        )
        session.add(policy)
        await session.flush()
        session.add_all(
            EscalationRule(policy_id=policy.id, position=position, **rule)
            for position, rule in enumerate(DEFAULT_RULES, start=1)
        )
    return True
