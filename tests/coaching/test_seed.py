"""The demo seed tells a consistent story through the API."""

from __future__ import annotations

from coaching.seed import seed
from kit.demo import demo_person_id
from tests.support.stack import StackHandle

BASE = "/api/v1/coaching"


class TestSeed:
    async def test_loads_once_and_the_story_reads_through_the_api(self, stack: StackHandle) -> None:
        database = stack.stack.database("coaching")
        assert await seed(database) is True
        assert await seed(database) is False
        hr = stack.as_user(await stack.person(roles=["hr", "policy_owner"]))
        sam = demo_person_id("sam.sales")

        history = (await hr.get(f"{BASE}/people/{sam}/history")).json()
        ambassadors = (await hr.get(f"{BASE}/ambassadors")).json()["items"]
        engagements = (await hr.get(f"{BASE}/engagements")).json()["items"]

        # Remedial coaching and suspensions come from incidents' decisions, not the seed
        # (tests/e2e/test_demo_story.py runs them): coaching alone refers to no incident.
        assert history["remedial_active"] == 0
        assert {a["person_id"]: a["status"] for a in ambassadors} == {
            str(demo_person_id("emma.employee")): "active",
            str(sam): "active",
        }
        assert {e["track"] for e in engagements} == {"ambassador", "development"}
        assert all(e["incident_id"] is None for e in engagements)
