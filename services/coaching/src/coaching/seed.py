"""Demo coaching data for ``make run``: loaded once, on the first start.

People are the gateway's demo organisation (Northwind, ``gateway.seed``), referred to by
``kit.demo.demo_person_id``. The story: Sam posted a customer screenshot and is in remedial
coaching (so his ambassador role is suspended), Tom's remedial coaching waits for a coach,
Emma finished a development engagement her manager asked for and is now an ambassador,
Nina asked for coaching and applied to the program.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from coaching.models import (
    AmbassadorApplication,
    ApplicationStatus,
    Coach,
    CoachingSession,
    Engagement,
    EngagementStatus,
    IncidentMeasure,
    MeasureStatus,
    Outcome,
    SessionStatus,
    Source,
    Track,
)
from kit.db import Database, utcnow
from kit.demo import DEMO_NAMESPACE, demo_person_id

DEMO_COACHES = (("carla.coach", "Carla Jensen", 8), ("paul.comms", "Paul Lindqvist", 4))


def demo_incident_id(name: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, f"incident:{name}")


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
    sam_remedial = Engagement(
        coachee_id=demo_person_id("sam.sales"),
        coach_id=carla.id,
        track=Track.REMEDIAL,
        source=Source.INCIDENT,
        incident_id=demo_incident_id("sam-customer-screenshot"),
        goals="Know what counts as confidential customer information and how to share a "
        "sales win without it.",
        status=EngagementStatus.ACTIVE,
        created_by="service:incidents",
        created_at=_days_ago(12),
        started_at=_days_ago(10),
    )
    # His incident's decision suspends his ambassador role while it is handled.
    session.add(
        IncidentMeasure(
            incident_id=demo_incident_id("sam-customer-screenshot"),
            person_id=demo_person_id("sam.sales"),
            suspends_ambassador=True,
            status=MeasureStatus.OPEN,
        )
    )
    session.add_all(
        [
            sam_remedial,
            Engagement(
                coachee_id=demo_person_id("tom.support"),
                track=Track.REMEDIAL,
                source=Source.INCIDENT,
                incident_id=demo_incident_id("tom-heated-reply"),
                goals="Answer angry customers in public without arguing; move it to a "
                "private channel.",
                created_by="service:incidents",
                created_at=_days_ago(2),
            ),
            Engagement(
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
            ),
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
            Engagement(
                coachee_id=demo_person_id("nina.engineer"),
                track=Track.DEVELOPMENT,
                source=Source.SELF_NOMINATION,
                goals="Write about our open-source work without revealing the roadmap.",
                created_by=f"user:{demo_person_id('nina.engineer')}",
                created_at=_days_ago(5),
            ),
        ]
    )
    await session.flush()
    session.add_all(
        [
            CoachingSession(
                engagement_id=sam_remedial.id,
                scheduled_at=_days_ago(7),
                duration_minutes=45,
                status=SessionStatus.HELD,
                notes="Went through clause 4.2 with the screenshot; Sam saw the customer "
                "name at once. Agreed he drafts the next two posts and sends them first.",
            ),
            CoachingSession(
                engagement_id=sam_remedial.id,
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
            # Approved before his incident: suspended while his remedial coaching is open.
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
