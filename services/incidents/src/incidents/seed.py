"""The default escalation policy of DESIGN §3, published on first start, and a few demo
reports about Northwind people. The reports are queued for a decision: the app's worker
decides them once coaching and the directory answer (``make run`` starts everything)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.decision.models import JobKind, PendingJob
from incidents.domain import Category, Channel, Severity
from incidents.models import (
    EscalationPolicy,
    EscalationRule,
    Incident,
    PolicyEvent,
    PolicyEventKind,
    PolicyStatus,
    TimelineEntry,
    TimelineKind,
)
from kit.db import Database, utcnow
from kit.demo import demo_person_id

# In evaluation order: the first rule that matches decides.
DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "name": "Critical: legal and HR act at once",
        "severities": ["critical"],
        "action": "legal_review",
        "contacts": ["legal", "hr"],
        "owner_role": "legal",
        "deadline_hours": 24,
        "suspends_ambassador": True,
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
        "suspends_ambassador": True,
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
        "suspends_ambassador": True,
    },
    {
        "name": "High: HR with the manager",
        "severities": ["high"],
        "action": "hr_review",
        "contacts": ["hr", "manager"],
        "owner_role": "hr",
        "deadline_hours": 72,
        "suspends_ambassador": True,
    },
    {
        "name": "Medium: coaching, manager informed",
        "severities": ["medium"],
        "action": "coaching",
        "contacts": ["manager"],
        "owner_role": "manager",
        "deadline_hours": 168,
        "suspends_ambassador": True,
    },
    {
        "name": "Low: coaching",
        "severities": ["low"],
        "action": "coaching",
        "contacts": [],
        "owner_role": "coach",
        "deadline_hours": 336,
        # One low-severity mistake is coached; it does not suspend an ambassador.
        "suspends_ambassador": False,
    },
]


# (person, reporter, days ago, channel, link, category, clauses, severity, description)
DEMO_REPORTS: list[tuple[str, str, int, Channel, str, Category, list[str], Severity, str]] = [
    (
        "sam.sales",
        "marc.manager",
        9,
        Channel.LINKEDIN,
        "https://www.linkedin.com/posts/sam-patel-northwind-pricing",
        Category.SPEAKING_WITHOUT_MANDATE,
        ["3.1"],
        Severity.LOW,
        "Answered a prospect's public question about next year's pricing as if it were "
        "Northwind's official position.",
    ),
    (
        "emma.employee",
        "paul.comms",
        4,
        Channel.X,
        "https://x.com/emmawilson/status/1861234567890",
        Category.CONFIDENTIAL_INFORMATION,
        ["2.1"],
        Severity.MEDIUM,
        "Posted a photo from the sales kick-off with the unreleased Q3 pipeline slide "
        "readable in the background.",
    ),
    (
        "tom.support",
        "hannah.hr",
        1,
        Channel.FACEBOOK,
        "https://www.facebook.com/tom.garcia/posts/4412",
        Category.PRIVACY_OF_OTHERS,
        ["5.1"],
        Severity.HIGH,
        "Shared a screenshot of a customer's support ticket with the customer's name and "
        "email visible, mocking the request.",
    ),
]


async def seed(database: Database) -> bool:
    """Publish the default policy and queue the demo reports, unless a policy exists.
    Returns whether it loaded."""
    async with database.transaction() as session:
        if await session.scalar(select(func.count()).select_from(EscalationPolicy)):
            return False
        await publish_default_policy(session)
        for report in DEMO_REPORTS:
            await _queue_demo_report(session, *report)
    return True


async def publish_default_policy(session: AsyncSession) -> EscalationPolicy:
    """Version 1 of the policy: the default scheme, published."""
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
    session.add(
        PolicyEvent(
            policy_id=policy.id,
            kind=PolicyEventKind.PUBLISHED,
            actor="service:incidents",
            summary="Published on first start: the default scheme (no sign-off recorded).",
        )
    )
    await session.flush()
    return policy


async def _queue_demo_report(
    session: AsyncSession,
    person: str,
    reporter: str,
    days_ago: int,
    channel: Channel,
    link: str,
    category: Category,
    clauses: list[str],
    severity: Severity,
    description: str,
) -> None:
    incident = Incident(
        person_id=demo_person_id(person),
        reporter_id=demo_person_id(reporter),
        channel=channel,
        links=[link],
        occurred_at=utcnow() - dt.timedelta(days=days_ago, hours=3),
        category=category,
        clauses=clauses,
        description=description,
        severity=severity,
    )
    session.add(incident)
    await session.flush()
    session.add(
        TimelineEntry(
            incident_id=incident.id,
            kind=TimelineKind.REPORTED,
            actor=f"user:{incident.reporter_id}",
            actor_id=incident.reporter_id,
            summary=f"Reported: {severity} severity, {category} on {channel}.",
        )
    )
    session.add(PendingJob(incident_id=incident.id, kind=JobKind.DECIDE))
