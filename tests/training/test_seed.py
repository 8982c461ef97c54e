"""The demo content: realistic, complete, and telling the story coaching picks up."""

from __future__ import annotations

import datetime as dt

import gateway.seed
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

        listed = (await owner.get(f"{API}/modules")).json()["items"]
        # Two modules; the second's version 1 was revised (retired, kept for its history).
        modules = [m for m in listed if m["status"] == "published"]
        details = [(await owner.get(f"{API}/modules/{m['id']}")).json() for m in modules]
        quiz = await owner.get(f"{API}/modules/{modules[0]['id']}/quiz")

        assert len(modules) == 2
        assert len(listed) == 3
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


class TestTrainingOverTimeInTheDemo:
    """What the demo shows of issue 19 once training's first reconciliation has run."""

    async def test_a_revised_module_a_rule_joiner_and_a_renewal_due(
        self, stack: StackHandle
    ) -> None:
        await gateway.seed.seed(stack.stack.database("gateway"))
        await seed(stack.stack.database("training"))
        owner = stack.as_user(demo_person_id("olivia.owner"))

        reconciled = await owner.post(f"{API}/assignment-rules/reconcile")
        modules = (await owner.get(f"{API}/modules")).json()["items"]
        assignments = (await owner.get(f"{API}/assignments", params={"limit": 100})).json()
        again = await owner.post(f"{API}/assignment-rules/reconcile")

        by_title = {m["title"]: m for m in modules if m["status"] == "published"}
        questions = by_title["When someone asks you about Northwind"]
        essentials = by_title["Social media essentials"]
        emma, marc = str(demo_person_id("emma.employee")), str(demo_person_id("marc.manager"))
        on_questions = {
            a["person_id"]: a for a in assignments["items"] if a["module_id"] == questions["id"]
        }
        emmas_core = [
            a
            for a in assignments["items"]
            if a["person_id"] == emma and a["module_id"] == essentials["id"]
        ]
        # The revision (not material) carried the open assignments over to version 2.
        assert questions["number"] == 2
        assert questions["material"] is False
        assert len((await owner.get(f"{API}/modules/{questions['id']}")).json()["examples"]) == 4
        # The Sales rule gave Marc (in Sales, not yet assigned) his assignment, due in 30 days.
        assert reconciled.status_code == 200
        assert reconciled.json()["assigned"] == 1
        assert reconciled.json()["renewed"] == 1
        assert set(on_questions) == {
            emma,
            marc,
            str(demo_person_id("sam.sales")),
            str(demo_person_id("tom.support")),
        }
        due = dt.datetime.fromisoformat(on_questions[marc]["due_at"])
        assert dt.timedelta(days=29) < due - dt.datetime.now(dt.UTC) <= dt.timedelta(days=30)
        # Emma passed the core module 350 days ago: her renewal is open, due on expiry.
        assert sorted(a["status"] for a in emmas_core) == ["completed", "not_started"]
        renewal = next(a for a in emmas_core if a["status"] == "not_started")
        left = dt.datetime.fromisoformat(renewal["due_at"]) - dt.datetime.now(dt.UTC)
        assert dt.timedelta(days=10) < left < dt.timedelta(days=20)
        # Idempotent: a second pass changes nothing.
        assert again.json()["assigned"] == again.json()["renewed"] == 0
        assert again.json()["acknowledgement_renewals"] == 0

    async def test_marc_is_asked_to_renew_his_policy_acknowledgement(
        self, stack: StackHandle
    ) -> None:
        await gateway.seed.seed(stack.stack.database("gateway"))
        await seed(stack.stack.database("training"))
        marc = stack.as_user(demo_person_id("marc.manager"))
        emma = stack.as_user(demo_person_id("emma.employee"))

        reconciled = await stack.as_user(demo_person_id("olivia.owner")).post(
            f"{API}/assignment-rules/reconcile"
        )
        his = (await marc.get(f"{API}/policy/acknowledgements/me")).json()
        hers = (await emma.get(f"{API}/policy/acknowledgements/me")).json()

        # Acknowledged 350 days ago, valid 12 months: asked to renew before it lapses.
        assert reconciled.json()["acknowledgement_renewals"] == 1
        assert his["status"] == "renewal_due"
        left = dt.datetime.fromisoformat(his["expires_at"]) - dt.datetime.now(dt.UTC)
        assert dt.timedelta(days=10) < left < dt.timedelta(days=20)
        assert hers["status"] == "acknowledged"
