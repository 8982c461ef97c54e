"""Demo coaching data for ``make run``: loaded once, on the first start."""

from __future__ import annotations

from sqlalchemy import func, select

from coaching.models import Coach
from kit.db import Database
from kit.demo import demo_person_id

DEMO_COACHES = (("carla.coach", "Carla Jensen", 8), ("paul.comms", "Paul Lindqvist", 4))


async def seed(database: Database) -> bool:
    """Load the demo coaches into an empty database. Returns whether it loaded."""
    async with database.transaction() as session:
        if await session.scalar(select(func.count()).select_from(Coach)):
            return False
        session.add_all(
            Coach(person_id=demo_person_id(user), display_name=name, capacity=capacity)
            for user, name, capacity in DEMO_COACHES
        )
    return True
