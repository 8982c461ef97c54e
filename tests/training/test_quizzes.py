"""Quizzes: server-side grading, attempt rules, and the answer key kept back."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import httpx
import time_machine

from tests.support.stack import StackHandle
from tests.training.factories import (
    API,
    draft_module,
    policy_owner,
    publish_policy,
    published_module,
    quiz,
    right_answers,
    single,
    take_quiz,
    wrong_answers,
)


def multiple(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "multiple_choice",
        "prompt": "Which of these are confidential?",
        "options": [
            {"text": "Unannounced results", "correct": True},
            {"text": "Customer names", "correct": True},
            {"text": "The published annual report"},
        ],
        "explanation": "Explanation of: anything not yet public.",
        **overrides,
    }


async def quiz_module(stack: StackHandle, **quiz_overrides: Any) -> dict[str, Any]:
    owner = await policy_owner(stack)
    await publish_policy(stack, owner)
    return await published_module(stack, owner, quiz_body=quiz(**quiz_overrides))


async def start(client: httpx.AsyncClient, module: dict[str, Any]) -> httpx.Response:
    return await client.post(f"{API}/modules/{module['id']}/quiz/attempts")


class TestAnswerKeyNeverLeaks:
    async def test_an_admin_reads_neither_the_key_nor_writes_a_quiz(
        self, stack: StackHandle
    ) -> None:
        module = await quiz_module(stack)
        admin = stack.as_user(await stack.person(roles=["admin"]))

        view = await admin.get(f"{API}/modules/{module['id']}/quiz")
        replaced = await admin.put(
            f"{API}/modules/{module['id']}/quiz", json=quiz(), headers={"If-Match": '"1"'}
        )

        assert view.status_code == 200
        assert "questions" not in view.json()
        assert "correct" not in view.text
        assert replaced.status_code == 403

    async def test_no_response_of_a_quiz_flow_carries_the_key_before_review_allows_it(
        self, stack: StackHandle
    ) -> None:
        module = await quiz_module(
            stack,
            review_rule="after_passing",
            attempt_limit=3,
            questions=[
                single("Q1 secret results?", "No", "Yes"),
                multiple(),
                {
                    "kind": "true_false",
                    "prompt": "Deleting undoes a post.",
                    "answer": False,
                    "explanation": "Explanation of: screenshots.",
                },
            ],
        )
        key = module["quiz"]
        secrets = [q["explanation"] for q in key["questions"]] + ["correct"]
        client = stack.as_user(await stack.person())
        responses: list[httpx.Response] = [
            await client.get(f"{API}/modules/{module['id']}"),
            await client.get(f"{API}/modules/{module['id']}/quiz"),
        ]
        started = await start(client, module)
        attempt_url = f"{API}/attempts/{started.json()['id']}"
        responses += [started, await client.get(attempt_url)]
        responses.append(
            await client.post(f"{attempt_url}/submit", json={"answers": wrong_answers(key)})
        )
        responses.append(await client.get(attempt_url))
        responses.append(await client.get(f"{API}/modules/{module['id']}/quiz"))

        for response in responses:
            assert response.is_success, response.text
            text = json.dumps(response.json()).lower()
            leaked = [secret for secret in secrets if secret.lower() in text]
            assert not leaked, f"{response.request.url} leaked {leaked}"
        assert responses[4].json()["result"]["review"] is None

        passed = await take_quiz(client, module, passing=True)
        first_attempt = await client.get(attempt_url)

        assert passed.json()["result"]["review"] is not None
        assert "Explanation of: screenshots." in passed.text
        assert first_attempt.json()["result"]["review"] is not None

    async def test_with_review_never_even_a_pass_shows_no_key(self, stack: StackHandle) -> None:
        module = await quiz_module(stack, review_rule="never")
        client = stack.as_user(await stack.person())

        passed = await take_quiz(client, module, passing=True)

        assert passed.json()["result"]["passed"] is True
        assert passed.json()["result"]["review"] is None
        assert "correct_option_ids" not in passed.text

    async def test_after_submit_the_review_explains_each_question(self, stack: StackHandle) -> None:
        module = await quiz_module(stack, review_rule="after_submit")
        client = stack.as_user(await stack.person())

        failed = await take_quiz(client, module, passing=False)

        review = failed.json()["result"]["review"]
        assert {item["correct"] for item in review} == {False}
        expected = {q["id"]: q["correct_option_ids"] for q in module["quiz"]["questions"]}
        assert {item["question_id"]: item["correct_option_ids"] for item in review} == expected


class TestStartAttempt:
    async def test_questions_come_without_answers_in_a_per_attempt_order(
        self, stack: StackHandle
    ) -> None:
        questions = [single(f"Question {n}?", "Right", "Wrong") for n in range(8)]
        module = await quiz_module(stack, questions=questions, attempt_limit=1)
        orders = set()
        for _ in range(4):
            client = stack.as_user(await stack.person())
            attempt = (await start(client, module)).json()
            orders.add(tuple(q["prompt"] for q in attempt["questions"]))

        assert attempt["status"] == "in_progress"
        assert set(attempt["questions"][0]) == {"id", "kind", "prompt", "options", "clause_numbers"}
        # 4 attempts over 8! orders: all equal only if nothing is shuffled.
        assert len(orders) > 1

    async def test_without_shuffle_the_authored_order_is_kept(self, stack: StackHandle) -> None:
        questions = [single(f"Question {n}?", "Right", "Wrong") for n in range(5)]
        module = await quiz_module(stack, questions=questions, shuffle=False)

        attempt = (await start(stack.as_user(await stack.person()), module)).json()

        assert [q["prompt"] for q in attempt["questions"]] == [q["prompt"] for q in questions]

    async def test_a_second_start_while_one_is_open_is_a_409_naming_it(
        self, stack: StackHandle
    ) -> None:
        module = await quiz_module(stack)
        client = stack.as_user(await stack.person())
        first = await start(client, module)

        second = await start(client, module)

        assert second.status_code == 409
        assert second.json()["type"] == "urn:smp:problem:attempt-in-progress"
        assert second.json()["attempt_id"] == first.json()["id"]

    async def test_at_the_attempt_limit_no_attempt_starts(self, stack: StackHandle) -> None:
        module = await quiz_module(stack, attempt_limit=2)
        client = stack.as_user(await stack.person())
        await take_quiz(client, module, passing=False)
        await take_quiz(client, module, passing=False)

        third = await start(client, module)
        standing = await client.get(f"{API}/modules/{module['id']}/quiz")

        assert third.status_code == 409
        assert third.json()["type"] == "urn:smp:problem:attempt-limit-reached"
        assert standing.json()["attempts_left"] == 0
        assert standing.json()["passed"] is False

    async def test_once_passed_no_new_attempt(self, stack: StackHandle) -> None:
        module = await quiz_module(stack)
        client = stack.as_user(await stack.person())
        await take_quiz(client, module, passing=True)

        again = await start(client, module)

        assert again.status_code == 409
        assert again.json()["type"] == "urn:smp:problem:quiz-already-passed"

    async def test_a_draft_modules_quiz_cannot_be_taken(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        draft = await draft_module(stack, owner)

        response = await start(
            stack.as_user(await stack.person()), {"id": draft.json()["module_id"]}
        )

        assert response.status_code == 404


class TestSubmit:
    async def test_all_right_passes_with_100(self, stack: StackHandle) -> None:
        module = await quiz_module(stack)

        response = await take_quiz(stack.as_user(await stack.person()), module, passing=True)

        assert response.status_code == 200
        assert response.json()["status"] == "submitted"
        assert response.json()["result"]["score_percent"] == 100
        assert response.json()["result"]["passed"] is True

    async def test_below_the_pass_mark_fails(self, stack: StackHandle) -> None:
        module = await quiz_module(stack, pass_mark_percent=60)
        key = module["quiz"]
        client = stack.as_user(await stack.person())
        attempt = (await start(client, module)).json()
        half = [*right_answers(key)[:1], *wrong_answers(key)[1:]]

        response = await client.post(
            f"{API}/attempts/{attempt['id']}/submit", json={"answers": half}
        )

        assert response.json()["result"]["score_percent"] == 50
        assert response.json()["result"]["passed"] is False

    async def test_unanswered_questions_count_as_wrong(self, stack: StackHandle) -> None:
        module = await quiz_module(stack)
        client = stack.as_user(await stack.person())
        attempt = (await start(client, module)).json()

        response = await client.post(f"{API}/attempts/{attempt['id']}/submit", json={"answers": []})

        assert response.json()["result"]["score_percent"] == 0

    async def test_multiple_choice_is_all_or_nothing_by_default(self, stack: StackHandle) -> None:
        score = await self._one_of_two_right_choices(stack, partial_credit=False)

        assert score == 0

    async def test_multiple_choice_gives_partial_credit_when_configured(
        self, stack: StackHandle
    ) -> None:
        score = await self._one_of_two_right_choices(stack, partial_credit=True)

        assert score == 50

    async def _one_of_two_right_choices(self, stack: StackHandle, *, partial_credit: bool) -> float:
        module = await quiz_module(
            stack, questions=[multiple()], partial_credit=partial_credit, pass_mark_percent=50
        )
        [question] = module["quiz"]["questions"]
        client = stack.as_user(await stack.person())
        attempt = (await start(client, module)).json()
        answer = {"question_id": question["id"], "option_ids": question["correct_option_ids"][:1]}

        response = await client.post(
            f"{API}/attempts/{attempt['id']}/submit", json={"answers": [answer]}
        )
        score: float = response.json()["result"]["score_percent"]
        return score

    async def test_a_second_submit_is_a_409_and_the_first_grade_stands(
        self, stack: StackHandle
    ) -> None:
        module = await quiz_module(stack)
        client = stack.as_user(await stack.person())
        attempt = (await start(client, module)).json()
        url = f"{API}/attempts/{attempt['id']}"
        await client.post(f"{url}/submit", json={"answers": wrong_answers(module["quiz"])})

        again = await client.post(f"{url}/submit", json={"answers": right_answers(module["quiz"])})

        assert again.status_code == 409
        assert again.json()["type"] == "urn:smp:problem:attempt-already-submitted"
        assert (await client.get(url)).json()["result"]["score_percent"] == 0

    async def test_after_the_time_limit_the_submit_is_refused_and_the_attempt_expires(
        self, stack: StackHandle
    ) -> None:
        module = await quiz_module(stack, time_limit_seconds=60, attempt_limit=1)
        person = await stack.person()
        attempt = (await start(stack.as_user(person), module)).json()

        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)):
            client = stack.as_user(person)
            late = await client.post(
                f"{API}/attempts/{attempt['id']}/submit",
                json={"answers": right_answers(module["quiz"])},
            )
            after = await client.get(f"{API}/attempts/{attempt['id']}")
            signals = await stack.as_service("coaching").get(f"{API}/signals")

        assert late.status_code == 409
        assert late.json()["type"] == "urn:smp:problem:time-limit-exceeded"
        assert after.json()["status"] == "expired"
        assert [s["reason"] for s in signals.json()["items"]] == ["quiz_attempts_exhausted"]

    async def test_within_the_time_limit_the_submit_is_graded(self, stack: StackHandle) -> None:
        module = await quiz_module(stack, time_limit_seconds=60)

        response = await take_quiz(stack.as_user(await stack.person()), module, passing=True)

        assert response.json()["result"]["passed"] is True

    async def test_an_option_of_another_question_is_a_422(self, stack: StackHandle) -> None:
        module = await quiz_module(stack)
        first, second = module["quiz"]["questions"]
        client = stack.as_user(await stack.person())
        attempt = (await start(client, module)).json()
        answer = {"question_id": first["id"], "option_ids": [second["options"][0]["id"]]}

        response = await client.post(
            f"{API}/attempts/{attempt['id']}/submit", json={"answers": [answer]}
        )

        assert response.status_code == 422
        assert response.json()["type"] == "urn:smp:problem:invalid-answers"
        assert "answers[0]" in response.json()["detail"]

    async def test_two_options_for_a_single_choice_question_is_a_422(
        self, stack: StackHandle
    ) -> None:
        module = await quiz_module(stack)
        first = module["quiz"]["questions"][0]
        client = stack.as_user(await stack.person())
        attempt = (await start(client, module)).json()
        answer = {"question_id": first["id"], "option_ids": [o["id"] for o in first["options"]]}

        response = await client.post(
            f"{API}/attempts/{attempt['id']}/submit", json={"answers": [answer]}
        )

        assert response.status_code == 422

    async def test_someone_elses_attempt_does_not_exist_for_you(self, stack: StackHandle) -> None:
        module = await quiz_module(stack)
        attempt = (await start(stack.as_user(await stack.person()), module)).json()
        other = stack.as_user(await stack.person())

        read = await other.get(f"{API}/attempts/{attempt['id']}")
        submit = await other.post(f"{API}/attempts/{attempt['id']}/submit", json={"answers": []})

        assert read.status_code == 404
        assert submit.status_code == 404


class TestRacingSubmits:
    async def test_two_submits_at_once_grade_the_attempt_exactly_once(
        self, committed_stack: StackHandle
    ) -> None:
        stack = committed_stack
        module = await quiz_module(stack)
        client = stack.as_user(await stack.person())
        attempt = (await start(client, module)).json()
        url = f"{API}/attempts/{attempt['id']}/submit"

        responses = await asyncio.gather(
            client.post(url, json={"answers": right_answers(module["quiz"])}),
            client.post(url, json={"answers": wrong_answers(module["quiz"])}),
        )

        assert sorted(r.status_code for r in responses) == [200, 409]
        owner = await stack.person(roles=["policy_owner"])
        report = await stack.as_user(owner).get(f"{API}/reports/modules/{module['id']}/questions")
        assert report.json()["submitted_attempts"] == 1
        assert {q["answered"] for q in report.json()["questions"]} == {1}


class TestAuthoring:
    async def test_an_employee_cannot_see_the_questions_of_a_quiz(self, stack: StackHandle) -> None:
        module = await quiz_module(stack)

        response = await stack.as_user(await stack.person()).get(
            f"{API}/modules/{module['id']}/quiz"
        )

        assert response.status_code == 200
        assert "questions" not in response.json()
        assert response.json()["question_count"] == 2

    async def test_a_single_choice_question_with_two_right_options_is_a_422(
        self, stack: StackHandle
    ) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        draft = await draft_module(stack, owner, quiz_body={})
        bad = single("Two right?", "Yes", "Also yes")
        bad["options"][1]["correct"] = True

        response = await stack.as_user(owner).put(
            f"{API}/modules/{draft.json()['id']}/quiz",
            json=quiz(questions=[bad]),
            headers={"If-Match": draft.headers["ETag"]},
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/questions/0/options"

    async def test_a_published_modules_quiz_is_frozen(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        module = await published_module(stack, owner)

        response = await stack.as_user(owner).put(
            f"{API}/modules/{module['id']}/quiz", json=quiz(), headers={"If-Match": "*"}
        )

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:module-not-editable"

    async def test_an_employee_cannot_author_a_quiz(self, stack: StackHandle) -> None:
        owner = await policy_owner(stack)
        await publish_policy(stack, owner)
        draft = await draft_module(stack, owner, quiz_body={})

        response = await stack.as_user(await stack.person()).put(
            f"{API}/modules/{draft.json()['id']}/quiz",
            json=quiz(),
            headers={"If-Match": draft.headers["ETag"]},
        )

        assert response.status_code == 403

    async def test_a_service_principal_gets_a_403_not_the_questions(
        self, stack: StackHandle
    ) -> None:
        module = await quiz_module(stack)

        response = await stack.as_service("coaching").get(f"{API}/modules/{module['id']}/quiz")

        assert response.status_code == 403
