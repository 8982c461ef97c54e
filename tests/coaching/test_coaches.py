"""Coaches: the coaching service's first resource, through the gateway."""

from __future__ import annotations

from tests.support.stack import StackHandle


class TestCreateCoach:
    async def test_hr_makes_a_person_a_coach(self, stack: StackHandle) -> None:
        hr = await stack.person(roles=["hr"])
        person = await stack.person()

        response = await stack.as_user(hr).post(
            "/api/v1/coaching/coaches",
            json={"person_id": str(person.id), "display_name": "Carla", "capacity": 5},
        )

        assert response.status_code == 201
        assert response.json()["person_id"] == str(person.id)

    async def test_an_employee_may_not(self, stack: StackHandle) -> None:
        employee = await stack.person()

        response = await stack.as_user(employee).post(
            "/api/v1/coaching/coaches",
            json={"person_id": str(employee.id), "display_name": "Me", "capacity": 5},
        )

        assert response.status_code == 403

    async def test_the_same_person_twice_is_a_409(self, stack: StackHandle) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))
        person = await stack.person()
        body = {"person_id": str(person.id), "display_name": "Carla", "capacity": 5}
        await hr.post("/api/v1/coaching/coaches", json=body)

        response = await hr.post("/api/v1/coaching/coaches", json=body)

        assert response.status_code == 409
        assert response.json()["type"] == "urn:smp:problem:already-a-coach"

    async def test_an_idempotency_key_replay_creates_one_coach(self, stack: StackHandle) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))
        person = await stack.person()
        body = {"person_id": str(person.id), "display_name": "Carla", "capacity": 5}

        first = await hr.post(
            "/api/v1/coaching/coaches", json=body, headers={"Idempotency-Key": "c1"}
        )
        again = await hr.post(
            "/api/v1/coaching/coaches", json=body, headers={"Idempotency-Key": "c1"}
        )

        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"]
        assert again.headers["idempotent-replayed"] == "true"

    async def test_capacity_out_of_range_is_a_422_naming_the_field(
        self, stack: StackHandle
    ) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))
        person = await stack.person()

        response = await hr.post(
            "/api/v1/coaching/coaches",
            json={"person_id": str(person.id), "display_name": "X", "capacity": 0},
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/capacity"


class TestListCoaches:
    async def test_lists_active_coaches_a_page_at_a_time(self, stack: StackHandle) -> None:
        hr = stack.as_user(await stack.person(roles=["hr"]))
        for i in range(3):
            person = await stack.person()
            await hr.post(
                "/api/v1/coaching/coaches",
                json={"person_id": str(person.id), "display_name": f"Coach {i}", "capacity": 2},
            )

        first = (await hr.get("/api/v1/coaching/coaches", params={"limit": 2})).json()
        second = (
            await hr.get(
                "/api/v1/coaching/coaches", params={"limit": 2, "cursor": first["next_cursor"]}
            )
        ).json()

        names = [c["display_name"] for c in first["items"] + second["items"]]
        assert names == ["Coach 0", "Coach 1", "Coach 2"]
        assert second["next_cursor"] is None
