"""The people directory: filters, bulk lookup by id, paging, and who may read it."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.ops.metrics_scrape import value
from tests.support.stack import StackHandle

PEOPLE = "/api/v1/directory/people"
LOOKUP = "/api/v1/directory/lookup"


def ids_of(body: dict[str, list[dict[str, str]]]) -> set[str]:
    return {item["id"] for item in body["items"]}


class TestListPeople:
    async def test_filters_by_department(self, stack: StackHandle) -> None:
        seller = await stack.person(department="Sales")
        await stack.person(department="Legal")

        response = await stack.as_user(seller).get(PEOPLE, params={"department": "Sales"})

        assert response.status_code == 200
        assert ids_of(response.json()) == {str(seller.id)}

    async def test_filters_by_manager(self, stack: StackHandle) -> None:
        manager = await stack.person()
        first = await stack.person(manager=manager)
        second = await stack.person(manager=manager)
        await stack.person()

        response = await stack.as_user(manager).get(PEOPLE, params={"manager_id": str(manager.id)})

        assert ids_of(response.json()) == {str(first.id), str(second.id)}

    async def test_filters_by_active(self, stack: StackHandle) -> None:
        reader = await stack.person(department="Ops")
        gone = await stack.person(department="Ops", active=False)

        response = await stack.as_user(reader).get(
            PEOPLE, params={"department": "Ops", "active": "false"}
        )

        assert ids_of(response.json()) == {str(gone.id)}

    async def test_bulk_lookup_by_repeated_id_leaves_unknown_ids_out(
        self, stack: StackHandle
    ) -> None:
        reader = await stack.person()
        first = await stack.person()
        second = await stack.person()
        await stack.person()

        response = await stack.as_user(reader).get(
            PEOPLE,
            params=[("id", str(first.id)), ("id", str(second.id)), ("id", str(uuid.uuid4()))],
        )

        assert ids_of(response.json()) == {str(first.id), str(second.id)}

    async def test_more_than_200_ids_is_a_422_naming_the_parameter(
        self, stack: StackHandle
    ) -> None:
        reader = await stack.person()

        response = await stack.as_user(reader).get(
            PEOPLE, params=[("id", str(uuid.uuid4())) for _ in range(201)]
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["parameter"] == "id"

    async def test_pages_follow_each_other_without_repeats(self, stack: StackHandle) -> None:
        department = f"Dept {uuid.uuid4().hex[:6]}"
        people = [await stack.person(department=department) for _ in range(5)]
        client = stack.as_user(people[0])

        seen: list[str] = []
        cursor: str | None = None
        for _ in range(3):
            params = {"department": department, "limit": "2"}
            if cursor:
                params["cursor"] = cursor
            body = (await client.get(PEOPLE, params=params)).json()
            seen += [item["id"] for item in body["items"]]
            cursor = body["next_cursor"]

        assert cursor is None
        assert sorted(seen) == sorted(str(person.id) for person in people)

    async def test_a_forged_cursor_is_a_400(self, stack: StackHandle) -> None:
        reader = await stack.person()

        response = await stack.as_user(reader).get(PEOPLE, params={"cursor": "garbage"})

        assert response.status_code == 400


class TestWhoMayRead:
    async def test_coaching_and_incidents_services_read_the_directory(
        self, stack: StackHandle
    ) -> None:
        person = await stack.person(department="Support")

        for service in ("coaching", "incidents", "training"):
            response = await stack.as_service(service).get(PEOPLE, params={"id": str(person.id)})
            assert response.status_code == 200, service
            assert response.json()["items"][0]["department"] == "Support"

    async def test_an_unknown_service_principal_is_refused(self, stack: StackHandle) -> None:
        response = await stack.as_service("reports").get(PEOPLE)

        assert response.status_code == 403

    async def test_anonymous_callers_are_refused(self, stack: StackHandle) -> None:
        response = await stack.client().get(PEOPLE)

        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


class TestLookup:
    async def test_answers_a_brief_of_each_known_person_in_id_order(
        self, stack: StackHandle
    ) -> None:
        manager = await stack.person(department="Legal")
        first = await stack.person(department="Support", manager=manager)
        second = await stack.person(department=None, active=False)

        response = await stack.as_service("incidents").post(
            LOOKUP, json={"ids": [str(second.id), str(uuid.uuid4()), str(first.id)]}
        )

        assert response.status_code == 200, response.text
        briefs = {
            str(person.id): {
                "id": str(person.id),
                "display_name": person.display_name,
                "active": person.active,
                "department": person.department,
                "manager_id": str(person.manager_id) if person.manager_id else None,
            }
            for person in (first, second)
        }
        assert response.json()["items"] == [briefs[i] for i in sorted(briefs)]

    async def test_thousands_of_ids_in_one_call_find_every_known_person(
        self, stack: StackHandle
    ) -> None:
        # More ids than one query takes: the known ones may fall in any of the queries.
        known = [await stack.person() for _ in range(3)]
        ids = [str(uuid.uuid4()) for _ in range(2_500)] + [str(person.id) for person in known]

        response = await stack.as_user(known[0]).post(LOOKUP, json={"ids": ids})

        assert response.status_code == 200, response.text
        assert ids_of(response.json()) == {str(person.id) for person in known}

    async def test_more_than_10000_ids_is_a_422(self, stack: StackHandle) -> None:
        reader = await stack.person()

        response = await stack.as_user(reader).post(
            LOOKUP, json={"ids": [str(uuid.uuid4()) for _ in range(10_001)]}
        )

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"

    async def test_no_ids_is_a_422(self, stack: StackHandle) -> None:
        reader = await stack.person()

        response = await stack.as_user(reader).post(LOOKUP, json={"ids": []})

        assert response.status_code == 422

    async def test_an_unknown_service_principal_is_refused(self, stack: StackHandle) -> None:
        response = await stack.as_service("reports").post(LOOKUP, json={"ids": [str(uuid.uuid4())]})

        assert response.status_code == 403

    async def test_anonymous_callers_are_refused(self, stack: StackHandle) -> None:
        response = await stack.client().post(LOOKUP, json={"ids": [str(uuid.uuid4())]})

        assert response.status_code == 401


class TestGetPerson:
    async def test_returns_the_person_with_manager_and_department(self, stack: StackHandle) -> None:
        manager = await stack.person()
        person = await stack.person(department="Legal", manager=manager, title="Counsel")

        response = await stack.as_service("incidents").get(f"{PEOPLE}/{person.id}")

        assert response.status_code == 200
        body = response.json()
        assert (body["department"], body["title"]) == ("Legal", "Counsel")
        assert body["manager_id"] == str(manager.id)

    async def test_the_manager_comes_with_the_person_in_one_call(self, stack: StackHandle) -> None:
        manager = await stack.person(display_name="Marc Manager")
        person = await stack.person(manager=manager)

        body = (await stack.as_service("incidents").get(f"{PEOPLE}/{person.id}")).json()

        assert body["manager"] == {
            "id": str(manager.id),
            "display_name": "Marc Manager",
            "active": True,
        }

    async def test_a_person_without_a_manager_has_none(self, stack: StackHandle) -> None:
        person = await stack.person()

        body = (await stack.as_service("incidents").get(f"{PEOPLE}/{person.id}")).json()

        assert body["manager_id"] is None
        assert body["manager"] is None

    async def test_an_unknown_id_is_a_404_problem(self, stack: StackHandle) -> None:
        reader = await stack.person()

        response = await stack.as_user(reader).get(f"{PEOPLE}/{uuid.uuid4()}")

        assert response.status_code == 404
        assert response.json()["type"] == "urn:smp:problem:person-not-found"


class TestServiceLookupShortPath:
    """A service's person lookups after its first (once the gateway knows its token) take a
    short path past the public edge and the router: the answers stay the route's."""

    async def test_a_service_gets_the_answer_a_person_gets_byte_for_byte(
        self, stack: StackHandle
    ) -> None:
        manager = await stack.person(display_name="Marc Manager", active=False)
        person = await stack.person(
            department="Legal", manager=manager, title="Counsel", locale="fr-FR"
        )
        reader = await stack.person()
        service = stack.as_service("incidents")

        by_person = await stack.as_user(reader).get(f"{PEOPLE}/{person.id}")
        by_service = [await service.get(f"{PEOPLE}/{person.id}") for _ in range(3)]

        assert by_person.status_code == 200
        assert by_person.json()["manager"]["active"] is False
        for response in by_service:
            assert response.status_code == 200
            assert response.headers["content-type"] == by_person.headers["content-type"]
            assert response.content == by_person.content

    async def test_a_deactivated_person_reads_the_same_with_the_time_they_left(
        self, stack: StackHandle
    ) -> None:
        left = dt.datetime(2026, 11, 30, 17, 45, 12, 345678, tzinfo=dt.UTC)
        person = await stack.person(active=False, deactivated_at=left)
        reader = await stack.person()
        service = stack.as_service("coaching")

        by_person = await stack.as_user(reader).get(f"{PEOPLE}/{person.id}")
        by_service = [await service.get(f"{PEOPLE}/{person.id}") for _ in range(2)]

        assert by_person.json()["deactivated_at"] == "2026-11-30T17:45:12.345678Z"
        assert [r.content for r in by_service] == [by_person.content] * 2

    async def test_an_unknown_id_is_the_same_404_problem_every_time(
        self, stack: StackHandle
    ) -> None:
        reader = await stack.person()
        path = f"{PEOPLE}/{uuid.uuid4()}"
        service = stack.as_service("training")

        by_person = await stack.as_user(reader).get(path)
        by_service = [await service.get(path) for _ in range(2)]

        expected = {**by_person.json(), "request_id": None}
        for response in by_service:
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"
            assert {**response.json(), "request_id": None} == expected
            assert response.json()["request_id"] == response.headers["x-request-id"]

    async def test_an_id_in_capitals_and_a_malformed_one_answer_as_before(
        self, stack: StackHandle
    ) -> None:
        person = await stack.person()
        service = stack.as_service("incidents")
        canonical = await service.get(f"{PEOPLE}/{person.id}")

        capitals = await service.get(f"{PEOPLE}/{str(person.id).upper()}")
        malformed = await service.get(f"{PEOPLE}/{str(person.id)[:-1]}x")

        assert capitals.content == canonical.content
        assert malformed.status_code == 422
        assert malformed.headers["content-type"] == "application/problem+json"

    async def test_a_service_that_may_not_read_the_directory_is_refused_every_time(
        self, stack: StackHandle
    ) -> None:
        person = await stack.person()
        service = stack.as_service("reports")

        responses = [await service.get(f"{PEOPLE}/{person.id}") for _ in range(2)]

        assert [r.status_code for r in responses] == [403, 403]
        assert all(r.headers["content-type"] == "application/problem+json" for r in responses)
        assert all("department" not in r.text for r in responses)

    async def test_a_lookup_is_counted_under_the_route_and_keeps_its_request_id(
        self, stack: StackHandle
    ) -> None:
        person = await stack.person()
        service = stack.as_service("incidents")
        await service.get(f"{PEOPLE}/{person.id}")  # the gateway now knows the token
        labels = {
            "app": "gateway",
            "method": "GET",
            "route": "/api/v1/directory/people/{person_id}",
            "status": "200",
        }
        before = value(
            (await stack.client().get("/metrics")).text, "smp_http_requests_total", **labels
        )

        response = await service.get(
            f"{PEOPLE}/{person.id}", headers={"X-Request-ID": "decision-1234"}
        )

        after = value(
            (await stack.client().get("/metrics")).text, "smp_http_requests_total", **labels
        )
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "decision-1234"
        assert after == before + 1


class TestRoleAndGroupFilters:
    async def test_a_role_lists_the_members_of_the_group_mapped_to_it(
        self, stack: StackHandle
    ) -> None:
        hr = await stack.person(roles=["hr"])
        also_hr = await stack.person(roles=["hr", "legal"])
        await stack.person(roles=["legal"])
        await stack.person()

        response = await stack.as_service("incidents").get(PEOPLE, params={"role": "hr"})

        assert response.status_code == 200
        assert ids_of(response.json()) == {str(hr.id), str(also_hr.id)}

    async def test_repeated_roles_list_people_holding_any_of_them(self, stack: StackHandle) -> None:
        hr = await stack.person(roles=["hr"])
        legal = await stack.person(roles=["legal"])
        await stack.person(roles=["coach"])

        response = await stack.as_user(hr).get(PEOPLE, params=[("role", "hr"), ("role", "legal")])

        assert ids_of(response.json()) == {str(hr.id), str(legal.id)}

    async def test_managers_are_the_people_with_active_direct_reports(
        self, stack: StackHandle
    ) -> None:
        manager = await stack.person()
        await stack.person(manager=manager)
        former_manager = await stack.person()
        await stack.person(manager=former_manager, active=False)

        response = await stack.as_user(manager).get(PEOPLE, params={"role": "manager"})

        assert ids_of(response.json()) == {str(manager.id)}

    async def test_employee_is_everyone(self, stack: StackHandle) -> None:
        department = f"Dept {uuid.uuid4().hex[:6]}"
        people = [await stack.person(department=department, roles=r) for r in ([], ["hr"])]

        response = await stack.as_user(people[0]).get(
            PEOPLE, params={"role": "employee", "department": department}
        )

        assert ids_of(response.json()) == {str(person.id) for person in people}

    async def test_roles_combine_with_the_other_filters(self, stack: StackHandle) -> None:
        active_hr = await stack.person(roles=["hr"])
        await stack.person(roles=["hr"], active=False)

        response = await stack.as_user(active_hr).get(
            PEOPLE, params={"role": "hr", "active": "true"}
        )

        assert ids_of(response.json()) == {str(active_hr.id)}

    async def test_an_unknown_role_is_a_422_naming_the_parameter(self, stack: StackHandle) -> None:
        reader = await stack.person()

        response = await stack.as_user(reader).get(PEOPLE, params={"role": "ceo"})

        assert response.status_code == 422
        assert response.json()["errors"][0]["parameter"] == "role"

    async def test_a_group_lists_its_members(self, stack: StackHandle) -> None:
        legal = await stack.person(roles=["legal"])
        await stack.person(roles=["hr"])

        response = await stack.as_service("incidents").get(PEOPLE, params={"group": "Legal"})

        assert ids_of(response.json()) == {str(legal.id)}

    async def test_an_unknown_group_has_no_members(self, stack: StackHandle) -> None:
        reader = await stack.person(roles=["hr"])

        response = await stack.as_user(reader).get(PEOPLE, params={"group": "Nobody's group"})

        assert response.status_code == 200
        assert response.json() == {"items": [], "next_cursor": None}

    async def test_role_members_page_without_repeats(self, stack: StackHandle) -> None:
        people = [await stack.person(roles=["coach"]) for _ in range(3)]
        client = stack.as_user(people[0])

        first = (await client.get(PEOPLE, params={"role": "coach", "limit": "2"})).json()
        second = (
            await client.get(
                PEOPLE, params={"role": "coach", "limit": "2", "cursor": first["next_cursor"]}
            )
        ).json()

        assert second["next_cursor"] is None
        assert [item["id"] for item in first["items"] + second["items"]] == [
            str(person.id) for person in people
        ]
