"""Demo coaching data for ``make run``: loaded once, on the first start.

People are the gateway's demo organisation (Northwind, ``gateway.seed``), referred to by
``kit.demo.demo_person_id``. Only what coaching alone knows is seeded here: the coaches,
Emma's finished development engagement (her manager asked for it) and her ambassador
engagement, Nina's request for coaching, and the ambassador applications.

Nothing here refers to an incident. Remedial engagements and ambassador suspensions come
from incidents' decisions, through the same calls as in production: ``incidents.seed``
queues the demo reports, and once ``make run`` has started everything the incidents
worker decides them and asks coaching for each remedial engagement (Emma's medium-severity
report suspends her ambassador role while it is handled; Sam's low-severity one opens
coaching without suspending his). ``tests/e2e/test_demo_story.py`` checks that every
reference between the services resolves.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from coaching.models import (
    AmbassadorApplication,
    ApplicationStatus,
    Coach,
    CoachingSession,
    Engagement,
    EngagementStatus,
    Outcome,
    SessionStatus,
    Source,
    Track,
)
from kit.db import Database, utcnow
from kit.demo import demo_person_id

DEMO_COACHES = (("carla.coach", "Carla Jensen", 8), ("paul.comms", "Paul Lindqvist", 4))


async def seed(database: Database) -> bool:
    """Load the demo coaching data into an empty database. Returns whether it loaded."""
    async with database.transaction() as session:
        if await session.scalar(select(func.count()).select_from(Coach)):
            return False
        coaches = {
            user: Coach(person_id=demo_person_id(user), display_name=name, capacity=capacity)
            for user, name, capacity in DEMO_COACHES
        }
        session.add_all(coaches.values())
        await session.flush()
        await _engagements(session, carla=coaches["carla.coach"], paul=coaches["paul.comms"])
        _applications(session)
    return True


def _days_ago(days: int) -> dt.datetime:
    return utcnow() - dt.timedelta(days=days)


async def _engagements(session: AsyncSession, *, carla: Coach, paul: Coach) -> None:
    emma_development = Engagement(
        coachee_id=demo_person_id("emma.employee"),
        coach_id=paul.id,
        track=Track.DEVELOPMENT,
        source=Source.MANAGER_REFERRAL,
        goals="Post about customer events on LinkedIn with confidence.",
        status=EngagementStatus.COMPLETED,
        outcome=Outcome.GOALS_MET,
        closing_note="Emma now posts weekly and checks names with customers first.",
        created_by=f"user:{demo_person_id('marc.manager')}",
        created_at=_days_ago(120),
        started_at=_days_ago(115),
        completed_at=_days_ago(60),
    )
    nina_development = Engagement(
        coachee_id=demo_person_id("nina.engineer"),
        coach_id=carla.id,
        track=Track.DEVELOPMENT,
        source=Source.SELF_NOMINATION,
        goals="Write about our open-source work without revealing the roadmap.",
        status=EngagementStatus.ACTIVE,
        created_by=f"user:{demo_person_id('nina.engineer')}",
        created_at=_days_ago(5),
        started_at=_days_ago(4),
    )
    session.add_all(
        [
            emma_development,
            nina_development,
            Engagement(
                coachee_id=demo_person_id("emma.employee"),
                coach_id=paul.id,
                track=Track.AMBASSADOR,
                source=Source.SELF_NOMINATION,
                goals="Run the Sales team's monthly 'posting clinic'.",
                status=EngagementStatus.ACTIVE,
                created_by=f"user:{demo_person_id('emma.employee')}",
                created_at=_days_ago(40),
                started_at=_days_ago(38),
            ),
        ]
    )
    await session.flush()
    session.add_all(
        [
            CoachingSession(
                engagement_id=emma_development.id,
                scheduled_at=_days_ago(100),
                duration_minutes=45,
                status=SessionStatus.HELD,
                notes="Went through clauses 2.1 and 5.1 with three of Emma's drafts; she saw "
                "at once which customer names needed a yes first.",
            ),
            CoachingSession(
                engagement_id=emma_development.id,
                scheduled_at=_days_ago(70),
                duration_minutes=30,
                status=SessionStatus.HELD,
                notes="Emma's last four posts needed no changes. Agreed to close.",
            ),
            CoachingSession(
                engagement_id=nina_development.id,
                scheduled_at=utcnow() + dt.timedelta(days=3),
                duration_minutes=30,
            ),
        ]
    )


def _applications(session: AsyncSession) -> None:
    owner = demo_person_id("olivia.owner")
    session.add_all(
        [
            AmbassadorApplication(
                person_id=demo_person_id("emma.employee"),
                motivation="I already share our customer events; I'd like to help the Sales "
                "team do it well.",
                status=ApplicationStatus.APPROVED,
                decided_by=owner,
                decided_at=_days_ago(45),
                created_at=_days_ago(50),
            ),
            # Approved long ago. His low-severity report opens remedial coaching without
            # suspending him (the policy's "Low: coaching" rule).
            AmbassadorApplication(
                person_id=demo_person_id("sam.sales"),
                motivation="Social selling is how I find most of my leads; happy to show "
                "others how.",
                status=ApplicationStatus.APPROVED,
                decided_by=owner,
                decided_at=_days_ago(80),
                created_at=_days_ago(90),
            ),
            AmbassadorApplication(
                person_id=demo_person_id("nina.engineer"),
                motivation="Engineers rarely post about their work; I want to show them how "
                "to do it safely.",
                created_at=_days_ago(3),
            ),
            AmbassadorApplication(
                person_id=demo_person_id("ethan.lead"),
                motivation="I would like to represent Engineering on social media.",
                status=ApplicationStatus.REJECTED,
                decided_by=owner,
                decided_at=_days_ago(20),
                decision_reason="Engineering already has an ambassador this quarter; please "
                "apply again in the next round.",
                created_at=_days_ago(25),
            ),
        ]
    )
