"""The demo content: realistic, complete, and telling the story coaching picks up."""

from __future__ import annotations

from kit.demo import demo_person_id
from tests.support.stack import StackHandle
from tests.training.factories import API
from training.seed import seed


class TestDemoContent:
    async def test_two_modules_with_examples_scenarios_and_an_eight_question_quiz(
        self, stack: StackHandle
    ) -> None:
        assert await seed(stack.stack.database("training")) is True
        owner = stack.as_user(await stack.person(roles=["policy_owner"]))

        modules = (await owner.get(f"{API}/modules")).json()["items"]
        details = [(await owner.get(f"{API}/modules/{m['id']}")).json() for m in modules]
        quiz = await owner.get(f"{API}/modules/{modules[0]['id']}/quiz")

        assert len(modules) == 2
        assert all(len(d["examples"]) >= 3 and len(d["scenarios"]) >= 2 for d in details)
        assert modules[0]["core"] is True
        assert len(quiz.json()["questions"]) >= 8
        assert len((await owner.get(f"{API}/policy")).json()["clauses"]) >= 8

    async def test_coaching_sees_toms_failed_quiz_and_sams_overdue_training(
        self, stack: StackHandle
    ) -> None:
        await seed(stack.stack.database("training"))

        signals = (await stack.as_service("coaching").get(f"{API}/signals")).json()["items"]
        emma = await stack.as_service("coaching").get(
            f"{API}/people/{demo_person_id('emma.employee')}/progress"
        )

        assert {(s["person_id"], s["reason"]) for s in signals} == {
            (str(demo_person_id("sam.sales")), "training_overdue"),
            (str(demo_person_id("tom.support")), "quiz_attempts_exhausted"),
        }
        assert emma.json()["core_training_completed"] is True

    async def test_seeding_twice_loads_once(self, stack: StackHandle) -> None:
        database = stack.stack.database("training")

        assert await seed(database) is True
        assert await seed(database) is False
