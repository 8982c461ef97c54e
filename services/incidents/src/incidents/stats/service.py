"""Aggregates for the programme-effect report, each one query. Routes call these."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, case, cast, extract, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from incidents.domain import IncidentStatus, Outcome
from incidents.incident.models import Incident
from incidents.stats.schemas import EffectStats, RemedialIncident


def _counted() -> list[Any]:
    """Incidents that happened: the same rule as prior incidents in a decision."""
    return [
        col(Incident.status) != IncidentStatus.DISMISSED,
        col(Incident.outcome).is_distinct_from(Outcome.NO_VIOLATION),
    ]


async def effect_stats(session: AsyncSession, *, since: dt.datetime) -> EffectStats:
    occurred: Any = col(Incident.occurred_at)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Quarters are UTC whatever the session's time zone.
        occurred = func.timezone("UTC", occurred)
    year = cast(extract("year", occurred), Integer)
    month = cast(extract("month", occurred), Integer)
    quarter = case((month <= 3, 1), (month <= 6, 2), (month <= 9, 3), else_=4)
    counts = (
        await session.execute(
            select(col(Incident.person_id), year, quarter, func.count())
            .where(col(Incident.occurred_at) >= since, *_counted())
            .group_by(col(Incident.person_id), year, quarter)
        )
    ).all()
    last = (
        await session.execute(
            select(col(Incident.person_id), func.max(col(Incident.occurred_at)))
            .where(*_counted())
            .group_by(col(Incident.person_id))
        )
    ).all()
    remedial = (
        await session.execute(
            select(
                col(Incident.id),
                col(Incident.person_id),
                col(Incident.occurred_at),
                col(Incident.remedial_engagement_id),
            ).where(
                col(Incident.occurred_at) >= since,
                col(Incident.remedial_engagement_id).is_not(None),
                *_counted(),
            )
        )
    ).all()
    # Built without validation: every value comes typed from the database, and tens of
    # thousands of rows would otherwise be checked one by one.
    return EffectStats.model_construct(
        since=since,
        counts=[(p, int(y), int(q), int(n)) for p, y, q, n in counts],
        last_incident_at=[(p, _utc(at)) for p, at in last],
        remedial=[
            RemedialIncident.model_construct(
                incident_id=i, person_id=p, occurred_at=_utc(at), engagement_id=engagement
            )
            for i, p, at, engagement in remedial
        ],
    )


def _utc(moment: dt.datetime) -> dt.datetime:
    # An aggregate (max) may come back from SQLite without the UTC marker.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
