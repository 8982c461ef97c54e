"""Training content built through the API, as a policy owner would: plain functions with
overridable defaults."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from gateway.models import Person
from tests.support.stack import StackHandle

API = "/api/v1/training"

CLAUSES = [
    {"number": "1.1", "title": "You are accountable", "body": "Online as offline."},
    {"number": "2.1", "title": "No confidential information", "body": "Never post it."},
    {"number": "3.1", "title": "Speak with a mandate", "body": "Only spokespeople speak."},
]


def example(**overrides: Any) -> dict[str, Any]:
    return {
        "post_text": "Proud of our team at the trade fair! #northwind",
        "channel": "linkedin",
        "verdict": "do",
        "explanation": "Shares public news, no numbers.",
        "clause_number": "2.1",
        **overrides,
    }


def scenario(**overrides: Any) -> dict[str, Any]:
    return {
        "situation": "A journalist asks you on X about layoffs.",
        "options": [
            {"key": "a", "text": "Answer what you heard.", "feedback": "Rumours spread."},
            {"key": "b", "text": "Refer them to the press office.", "feedback": "Right."},
        ],
        "recommended_key": "b",
        "recommended_why": "Only spokespeople speak for the company.",
        "clause_number": "3.1",
        **overrides,
    }


def single(prompt: str, right: str, wrong: str, **overrides: Any) -> dict[str, Any]:
    return {
        "kind": "single_choice",
        "prompt": prompt,
        "options": [{"text": right, "correct": True}, {"text": wrong}],
        "explanation": f"Explanation of: {prompt}",
        "clause_numbers": ["2.1"],
        **overrides,
    }


def quiz(**overrides: Any) -> dict[str, Any]:
    return {
        "pass_mark_percent": 100,
        "attempt_limit": 2,
        "review_rule": "after_submit",
        "questions": [
            single("May you post unannounced results?", "No", "Yes"),
            {
                "kind": "true_false",
                "prompt": "Deleting a post undoes it.",
                "answer": False,
                "explanation": "Explanation of: screenshots last forever.",
            },
        ],
        **overrides,
    }


async def policy_owner(stack: StackHandle) -> Person:
    return await stack.person(department="Communications", roles=["policy_owner"])


async def publish_policy(stack: StackHandle, owner: Person, **overrides: Any) -> dict[str, Any]:
    client = stack.as_user(owner)
    body = {"body_markdown": "# Policy", "clauses": CLAUSES, **overrides}
    draft = await client.post(f"{API}/policy/versions", json=body)
    assert draft.status_code == 201, draft.text
    published = await client.post(
        f"{API}/policy/versions/{draft.json()['id']}/publish",
        headers={"If-Match": draft.headers["ETag"]},
    )
    assert published.status_code == 200, published.text
    result: dict[str, Any] = published.json()
    return result


async def draft_module(
    stack: StackHandle, owner: Person, *, quiz_body: dict[str, Any] | None = None, **overrides: Any
) -> httpx.Response:
    """A draft module (with a quiz unless ``quiz_body`` is ``{}``); the last response."""
    client = stack.as_user(owner)
    body = {
        "title": "Confidential information",
        "summary": "What you may and may not share.",
        "body_markdown": "## Keep it in",
        "examples": [example(), example(verdict="dont", post_text="Q3 numbers look great!")],
        "scenarios": [scenario()],
        **overrides,
    }
    created = await client.post(f"{API}/modules", json=body)
    assert created.status_code == 201, created.text
    if quiz_body == {}:
        return created
    put = await client.put(
        f"{API}/modules/{created.json()['id']}/quiz",
        json=quiz_body or quiz(),
        headers={"If-Match": created.headers["ETag"]},
    )
    assert put.status_code == 200, put.text
    return put


async def published_module(
    stack: StackHandle,
    owner: Person,
    *,
    quiz_body: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A published module; with a quiz unless ``quiz_body`` is ``{}``. Needs a published
    policy (for the clauses). Returns the author's view of the module, and its quiz as
    ``quiz`` (with the answer key) when it has one."""
    last = await draft_module(stack, owner, quiz_body=quiz_body, **overrides)
    module_id = last.json().get("module_id") or last.json()["id"]
    client = stack.as_user(owner)
    published = await client.post(
        f"{API}/modules/{module_id}/publish", headers={"If-Match": last.headers["ETag"]}
    )
    assert published.status_code == 200, published.text
    module: dict[str, Any] = published.json()
    if quiz_body != {}:
        module["quiz"] = (await client.get(f"{API}/modules/{module_id}/quiz")).json()
    return module


def right_answers(quiz_view: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"question_id": q["id"], "option_ids": q["correct_option_ids"]}
        for q in quiz_view["questions"]
    ]


def wrong_answers(quiz_view: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "question_id": q["id"],
            "option_ids": [
                next(o["id"] for o in q["options"] if o["id"] not in q["correct_option_ids"])
            ],
        }
        for q in quiz_view["questions"]
    ]


async def take_quiz(
    client: httpx.AsyncClient, module: dict[str, Any], *, passing: bool
) -> httpx.Response:
    """Start an attempt and submit it, right or wrong; the submit response."""
    started = await client.post(f"{API}/modules/{module['id']}/quiz/attempts")
    assert started.status_code == 201, started.text
    answers = right_answers(module["quiz"]) if passing else wrong_answers(module["quiz"])
    return await client.post(
        f"{API}/attempts/{started.json()['id']}/submit", json={"answers": answers}
    )


async def assign(
    stack: StackHandle,
    assigner: Person,
    module: dict[str, Any],
    people: list[Person],
    *,
    due_in: dt.timedelta = dt.timedelta(days=14),
) -> dict[str, Any]:
    due_at = dt.datetime.now(dt.UTC) + due_in
    response = await stack.as_user(assigner).post(
        f"{API}/assignments",
        json={
            "module_id": module["id"],
            "person_ids": [str(p.id) for p in people],
            "due_at": due_at.isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
