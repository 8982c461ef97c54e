"""Assignment rules: a module assigned to a department, a group, everyone or named people,
kept true as people join, move and leave through SCIM (the HRIS), by a reconciliation that
changes nothing when nothing drifted."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import httpx
import pytest
import time_machine
from sqlalchemy import select

from gateway.models import Person
from kit.db import utcnow
from kit.identity import PrincipalKind
from tests.support.processes import free_port
from tests.support.stack import StackHandle
from tests.training.factories import API, policy_owner, publish_policy, published_module, take_quiz
from training.db import scheduled_runs
from training.rules.reconciler import RETRY_AFTER, Reconciler

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
NOTHING = {
    "assigned": 0,
    "reopened": 0,
    "moved": 0,
    "closed_left": 0,
    "renewed": 0,
    "acknowledgement_renewals": 0,
    "leavers_recorded": 0,
}


@pytest.fixture
async def scim(stack: StackHandle) -> httpx.AsyncClient:
    """The HRIS: an API client with the `scim` scope."""
    admin = await stack.person(roles=["admin"], department="IT")
    created = await stack.as_user(admin).post(
        "/api/v1/admin/api-clients", json={"name": "HRIS", "scopes": ["scim"]}
    )
    assert created.status_code == 201, created.text
    return stack.client(headers={"Authorization": f"Bearer {created.json()['secret']}"})


async def hire(scim: httpx.AsyncClient, department: str) -> uuid.UUID:
    response = await scim.post(
        "/scim/v2/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": f"{uuid.uuid4().hex[:8]}@northwind.example",
            "name": {"givenName": "New", "familyName": "Joiner"},
            "active": True,
            ENTERPRISE: {"department": department},
        },
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def scim_patch(scim: httpx.AsyncClient, person_id: uuid.UUID, value: dict[str, Any]) -> None:
    response = await scim.patch(
        f"/scim/v2/Users/{person_id}",
        json={"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": value}]},
    )
    assert response.status_code == 200, response.text


async def move(scim: httpx.AsyncClient, person_id: uuid.UUID, department: str) -> None:
    await scim_patch(scim, person_id, {f"{ENTERPRISE}:department": department})


async def rule(
    stack: StackHandle, owner: Person, module: dict[str, Any], **body: Any
) -> dict[str, Any]:
    response = await stack.as_user(owner).post(
        f"{API}/assignment-rules", json={"module_id": module["id"], "due_days": 30, **body}
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def reconcile(stack: StackHandle, owner: Person) -> dict[str, int]:
    response = await stack.as_user(owner).post(f"{API}/assignment-rules/reconcile")
    assert response.status_code == 200, response.text
    result: dict[str, int] = response.json()
    return result


async def assignments_of(
    stack: StackHandle, owner: Person, person_id: uuid.UUID
) -> list[dict[str, Any]]:
    response = await stack.as_user(owner).get(
        f"{API}/assignments", params={"person_id": str(person_id)}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def setup(stack: StackHandle) -> tuple[Person, dict[str, Any]]:
    owner = await policy_owner(stack)
    await publish_policy(stack, owner)
    return owner, await published_module(stack, owner)


def due_in(assignment: dict[str, Any], days: int) -> bool:
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    return abs(dt.datetime.fromisoformat(assignment["due_at"]) - expected) < dt.timedelta(minutes=1)


class TestCreateRule:
    async def test_a_department_rule_assigns_its_members_now(self, stack: StackHandle) -> None:
        owner, module = await setup(stack)
        members = [await stack.person(department="Finance") for _ in range(2)]
        await stack.person(department="Sales")

        created = await rule(stack, owner, module, target="department", name="Finance")

        assert created["reconciliation"]["assigned"] == 2
        assert created["rule"]["module_id"] == module["id"]
        for member in members:
            [assignment] = await assignments_of(stack, owner, member.id)
            assert assignment["department"] == "Finance"
            assert due_in(assignment, 30)

    async def test_a_group_rule_assigns_the_group_members(self, stack: StackHandle) -> None:
        owner, module = await setup(stack)
        coach = await stack.person(roles=["coach"])
        await stack.person()
        group = stack.stack.settings["gateway"].group_roles
        coaches_group = next(name for name, role in group.items() if role == "coach")

        created = await rule(stack, owner, module, target="group", name=coaches_group)

        assert created["reconciliation"]["assigned"] == 1
        assert len(await assignments_of(stack, owner, coach.id)) == 1

    async def test_an_everyone_rule_skips_who_already_has_the_module(
        self, stack: StackHandle
    ) -> None:
        owner, module = await setup(stack)
        first = await rule(stack, owner, module, target="everyone")

        second = await rule(stack, owner, module, target="everyone")

        assert first["reconciliation"]["assigned"] >= 1
        assert second["reconciliation"] == NOTHING

    async def test_a_department_without_anyone_is_a_422_and_nothing_is_kept(
        self, stack: StackHandle
    ) -> None:
        owner, module = await setup(stack)

        response = await stack.as_user(owner).post(
            f"{API}/assignment-rules",
            json={
                "module_id": module["id"],
                "target": "department",
                "name": "Fnance",
                "due_days": 30,
            },
        )
        listed = await stack.as_user(owner).get(f"{API}/assignment-rules")

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert "Fnance" in response.json()["detail"]
        assert listed.json()["items"] == []

    @pytest.mark.parametrize(
        "body",
        [
            {"target": "department", "due_days": 30},
            {"target": "everyone", "name": "Sales", "due_days": 30},
            {"target": "people", "due_days": 30},
            {"target": "everyone", "due_days": 0},
        ],
    )
    async def test_an_incomplete_target_is_a_422(
        self, stack: StackHandle, body: dict[str, Any]
    ) -> None:
        owner, module = await setup(stack)

        response = await stack.as_user(owner).post(
            f"{API}/assignment-rules", json={"module_id": module["id"], **body}
        )

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"

    async def test_employees_may_not_make_rules(self, stack: StackHandle) -> None:
        _, module = await setup(stack)
        employee = stack.as_user(await stack.person())

        response = await employee.post(
            f"{API}/assignment-rules",
            json={"module_id": module["id"], "target": "everyone", "due_days": 30},
        )
        listed = await employee.get(f"{API}/assignment-rules/{uuid.uuid4()}")

        assert response.status_code == 403
        assert listed.status_code == 403


class TestJoiners:
    async def test_a_scim_joiner_gets_the_module_due_from_the_day_they_joined(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        owner, module = await setup(stack)
        await stack.person(department="Finance")
        await rule(stack, owner, module, target="department", name="Finance", due_days=21)

        joiner = await hire(scim, "Finance")
        result = await reconcile(stack, owner)

        assert result == {**NOTHING, "assigned": 1}
        [assignment] = await assignments_of(stack, owner, joiner)
        assert assignment["status"] == "not_started"
        assert due_in(assignment, 21)

    async def test_reconciling_again_changes_nothing(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        owner, module = await setup(stack)
        await stack.person(department="Finance")
        await rule(stack, owner, module, target="department", name="Finance")
        await hire(scim, "Finance")
        await reconcile(stack, owner)

        again = await reconcile(stack, owner)

        assert again == NOTHING

    async def test_the_background_reconciler_does_the_same(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        owner, module = await setup(stack)
        await stack.person(department="Finance")
        await rule(stack, owner, module, target="department", name="Finance")
        joiner = await hire(scim, "Finance")

        await stack.stack.apps["training"].state.reconciler.run_once()

        assert len(await assignments_of(stack, owner, joiner)) == 1


class TestMovers:
    async def test_a_mover_in_gets_it_and_a_mover_out_closes_as_left(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        owner, module = await setup(stack)
        outgoing = await hire(scim, "Finance")
        incoming = await hire(scim, "Sales")
        await rule(stack, owner, module, target="department", name="Finance")

        await move(scim, outgoing, "Sales")
        await move(scim, incoming, "Finance")
        result = await reconcile(stack, owner)

        assert result == {**NOTHING, "assigned": 1, "closed_left": 1}
        [closed] = await assignments_of(stack, owner, outgoing)
        [assigned] = await assignments_of(stack, owner, incoming)
        assert closed["status"] == "left"
        assert assigned["status"] == "not_started"

    async def test_a_mover_covered_by_another_rule_keeps_the_assignment(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        owner, module = await setup(stack)
        mover = await hire(scim, "Finance")
        await hire(scim, "Sales")
        await rule(stack, owner, module, target="department", name="Finance")
        await rule(stack, owner, module, target="department", name="Sales")
        [before] = await assignments_of(stack, owner, mover)

        await move(scim, mover, "Sales")
        result = await reconcile(stack, owner)

        assert result == {**NOTHING, "moved": 1}
        [after] = await assignments_of(stack, owner, mover)
        assert after["assignment_id"] == before["assignment_id"]
        assert after["status"] == "not_started"
        assert after["due_at"] == before["due_at"]


class TestLeavers:
    async def test_a_scim_leaver_open_assignments_close_as_left_and_completions_stay(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        owner, module = await setup(stack)
        other = await published_module(stack, owner, quiz_body={}, title="Second module")
        leaver = await hire(scim, "Finance")
        await rule(stack, owner, module, target="department", name="Finance")
        await rule(stack, owner, other, target="people", person_ids=[str(leaver)])
        await take_quiz(stack.as_user(leaver), module, passing=True)

        await scim_patch(scim, leaver, {"active": False})
        result = await reconcile(stack, owner)

        # Their quiz attempt makes them a leaver whose data retention will remove.
        assert result == {**NOTHING, "closed_left": 1, "leavers_recorded": 1}
        statuses = {a["module_id"]: a["status"] for a in await assignments_of(stack, owner, leaver)}
        assert statuses == {module["id"]: "completed", other["id"]: "left"}

    async def test_a_left_assignment_is_never_overdue_and_reports_count_it(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        owner, module = await setup(stack)
        leaver = await hire(scim, "Finance")
        await rule(stack, owner, module, target="department", name="Finance", due_days=1)
        await scim_patch(scim, leaver, {"active": False})
        await reconcile(stack, owner)
        hr = await stack.person(department="People", roles=["hr"])

        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=5)):
            client = stack.as_user(hr)
            signals = await client.get(f"{API}/signals", params={"reason": "training_overdue"})
            report = await client.get(
                f"{API}/reports/completion", params={"module_id": module["id"]}
            )

        assert signals.json()["items"] == []
        [finance] = report.json()["departments"]
        assert (finance["left"], finance["overdue"]) == (1, 0)

    async def test_a_returner_gets_the_closed_assignment_back(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        owner, module = await setup(stack)
        person = await hire(scim, "Finance")
        await rule(stack, owner, module, target="department", name="Finance")
        await scim_patch(scim, person, {"active": False})
        await reconcile(stack, owner)

        await scim_patch(scim, person, {"active": True})
        result = await reconcile(stack, owner)

        assert result == {**NOTHING, "reopened": 1}
        [assignment] = await assignments_of(stack, owner, person)
        assert assignment["status"] == "not_started"
        assert assignment["closed_at"] is None


class TestOutage:
    async def test_directory_unreachable_is_a_503_and_nothing_changes(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        owner, module = await setup(stack)
        person = await hire(scim, "Finance")
        await rule(stack, owner, module, target="department", name="Finance")
        await scim_patch(scim, person, {"active": False})

        def unreachable(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        cut_off = httpx.AsyncClient(
            transport=httpx.MockTransport(unreachable), base_url="http://gateway"
        )
        state = stack.stack.apps["training"].state
        gateway, state.gateway = state.gateway, cut_off
        try:
            down = await stack.as_user(owner).post(f"{API}/assignment-rules/reconcile")
        finally:
            state.gateway = gateway
            await cut_off.aclose()
        [kept] = await assignments_of(stack, owner, person)
        back = await reconcile(stack, owner)

        assert down.status_code == 503
        assert down.headers["content-type"] == "application/problem+json"
        assert "directory" in down.json()["detail"]
        assert kept["status"] == "not_started"
        assert back == {**NOTHING, "closed_left": 1}


class TestEndRule:
    async def test_an_ended_rule_gives_joiners_nothing_and_keeps_what_it_made(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        owner, module = await setup(stack)
        first = await hire(scim, "Finance")
        created = await rule(stack, owner, module, target="department", name="Finance")

        ended = await stack.as_user(owner).delete(f"{API}/assignment-rules/{created['rule']['id']}")
        joiner = await hire(scim, "Finance")
        result = await reconcile(stack, owner)

        assert ended.json()["ended_at"] is not None
        assert result == NOTHING
        assert len(await assignments_of(stack, owner, first)) == 1
        assert await assignments_of(stack, owner, joiner) == []


class TestRulesAndRevisions:
    async def test_a_material_revision_reassigns_everyone_but_the_leavers(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        owner, module = await setup(stack)
        stays, leaves = await hire(scim, "Finance"), await hire(scim, "Finance")
        created = await rule(stack, owner, module, target="department", name="Finance")
        await scim_patch(scim, leaves, {"active": False})
        await reconcile(stack, owner)
        client = stack.as_user(owner)

        draft = await client.post(
            f"{API}/modules/{module['id']}/revisions", json={"material": True}
        )
        revision = await client.post(
            f"{API}/modules/{draft.json()['id']}/publish",
            headers={"If-Match": draft.headers["ETag"]},
        )
        joiner = await hire(scim, "Finance")
        result = await reconcile(stack, owner)
        listed = await client.get(f"{API}/assignment-rules/{created['rule']['id']}")

        new = revision.json()["id"]
        assert {a["module_id"] for a in await assignments_of(stack, owner, stays)} == {
            module["id"],
            new,
        }
        assert [a["status"] for a in await assignments_of(stack, owner, leaves)] == ["left"]
        assert result == {**NOTHING, "assigned": 1}
        assert [a["module_id"] for a in await assignments_of(stack, owner, joiner)] == [new]
        assert listed.json()["module_id"] == new


class TestGatewayAway:
    async def test_an_unreachable_gateway_is_a_warning_and_a_retry_soon(
        self, stack: StackHandle, caplog: pytest.LogCaptureFixture
    ) -> None:
        live = stack.stack.apps["training"].state.reconciler
        async with live.database.transaction() as session:
            await session.execute(scheduled_runs.delete())
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{free_port()}") as away:
            reconciler = Reconciler(live.database, away, every_seconds=3600, renewal_lead_days=30)
            with caplog.at_level(logging.WARNING):
                delay = await reconciler._round()

        assert delay == RETRY_AFTER.total_seconds()
        [record] = [r for r in caplog.records if r.name == "training.rules"]
        assert record.levelno == logging.WARNING
        assert "unreachable" in record.getMessage()
        async with live.database.transaction() as session:
            [row] = (await session.execute(select(scheduled_runs))).all()
        assert row.leased_until is None
        due_in_seconds = (row.next_run_at - utcnow()).total_seconds()
        assert 0 < due_in_seconds <= RETRY_AFTER.total_seconds() + 1


class TestTheGatewaysHint:
    async def test_only_the_gateway_makes_the_reconciliation_due_now(
        self, stack: StackHandle
    ) -> None:
        owner = await stack.person(roles=["policy_owner"])
        path = "/internal/directory-changed"

        # Straight to training with the gateway's own service token, as its hint is sent.
        service = PrincipalKind.SERVICE
        by_gateway = await stack.direct("training", subject="service:gateway", kind=service).post(
            path
        )
        by_owner = await stack.direct("training", subject=str(owner.id)).post(path)
        by_coaching = await stack.direct("training", subject="service:coaching", kind=service).post(
            path
        )

        assert by_gateway.status_code == 202
        assert by_gateway.json() == {"reconciliation": "due"}
        assert by_owner.status_code == 403
        assert by_owner.headers["content-type"] == "application/problem+json"
        assert by_coaching.status_code == 403
