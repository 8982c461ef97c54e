"""SCIM 2.0 as Okta and Microsoft Entra use it: users, groups, filters, paging, PATCH
quirks, discovery, and SCIM's error body everywhere under /scim/v2."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from starlette.routing import Mount

from gateway.scim.router import PREFIX as SCIM_PREFIX
from tests.gateway.conftest import ApiClientFactory
from tests.support.stack import StackHandle

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def okta_user(user_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": user_name,
        "externalId": f"00u{uuid.uuid4().hex[:12]}",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "active": True,
        "title": "Analyst",
        ENTERPRISE: {"department": "Finance", "employeeNumber": "E-1001"},
        **extra,
    }


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


async def create_user(
    scim: httpx.AsyncClient, user_name: str | None = None, **extra: Any
) -> dict[str, Any]:
    response = await scim.post(
        "/scim/v2/Users",
        json=okta_user(user_name or f"{uuid.uuid4().hex[:8]}@northwind.example", **extra),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_scim_error(response: httpx.Response, status: int, scim_type: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/scim+json"
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body["scimType"] == scim_type


class TestCreateUser:
    async def test_creates_a_person_the_directory_serves(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        response = await scim.post("/scim/v2/Users", json=okta_user("ada@northwind.example"))

        assert response.status_code == 201
        assert response.headers["content-type"] == "application/scim+json"
        user = response.json()
        assert response.headers["location"].endswith(f"/scim/v2/Users/{user['id']}")
        assert user[ENTERPRISE]["department"] == "Finance"
        assert "displayName" not in user  # not sent: SCIM returns what was sent
        person = await stack.as_service("coaching").get(f"/api/v1/directory/people/{user['id']}")
        assert person.json()["display_name"] == "Ada Lovelace"  # derived from name
        assert person.json()["department"] == "Finance"
        assert person.json()["email"] == "ada@northwind.example"

    async def test_a_taken_user_name_is_a_409_whatever_its_case(
        self, scim: httpx.AsyncClient
    ) -> None:
        await create_user(scim, "Bob@Northwind.example")

        response = await scim.post("/scim/v2/Users", json=okta_user("bob@northwind.example"))

        assert_scim_error(response, 409, "uniqueness")

    async def test_an_unknown_manager_is_refused_and_nothing_is_stored(
        self, scim: httpx.AsyncClient
    ) -> None:
        body = okta_user("cyd@northwind.example")
        body[ENTERPRISE]["manager"] = {"value": str(uuid.uuid4())}

        response = await scim.post("/scim/v2/Users", json=body)
        listed = await scim.get(
            "/scim/v2/Users", params={"filter": 'userName eq "cyd@northwind.example"'}
        )

        assert_scim_error(response, 400, "invalidValue")
        assert listed.json()["totalResults"] == 0

    async def test_a_body_without_user_name_is_a_400(self, scim: httpx.AsyncClient) -> None:
        response = await scim.post("/scim/v2/Users", json={"name": {"givenName": "X"}})

        assert_scim_error(response, 400, "invalidValue")
        assert "userName" in response.json()["detail"]

    async def test_malformed_json_is_a_400_invalid_syntax(self, scim: httpx.AsyncClient) -> None:
        response = await scim.post(
            "/scim/v2/Users", content=b"{nope", headers={"Content-Type": "application/scim+json"}
        )

        assert_scim_error(response, 400, "invalidSyntax")


class TestListUsers:
    async def test_filters_by_user_name_and_external_id(self, scim: httpx.AsyncClient) -> None:
        user = await create_user(scim)
        await create_user(scim)

        by_name = await scim.get(
            "/scim/v2/Users", params={"filter": f'userName eq "{user["userName"].upper()}"'}
        )
        by_external = await scim.get(
            "/scim/v2/Users", params={"filter": f'externalId eq "{user["externalId"]}"'}
        )

        assert [u["id"] for u in by_name.json()["Resources"]] == [user["id"]]
        assert [u["id"] for u in by_external.json()["Resources"]] == [user["id"]]

    async def test_an_unsupported_filter_is_a_400_invalid_filter(
        self, scim: httpx.AsyncClient
    ) -> None:
        response = await scim.get("/scim/v2/Users", params={"filter": 'title co "Eng"'})

        assert_scim_error(response, 400, "invalidFilter")

    async def test_a_nul_in_a_filter_value_is_a_400_invalid_filter(
        self, scim: httpx.AsyncClient
    ) -> None:
        response = await scim.get("/scim/v2/Users", params={"filter": 'userName eq "a\\u0000b"'})

        assert_scim_error(response, 400, "invalidFilter")

    @pytest.mark.parametrize("parameter", ["startIndex", "count"])
    @pytest.mark.parametrize("value", [str(2**64), str(-(2**70)), "9" * 40])
    async def test_paging_numbers_beyond_64_bits_are_a_scim_400(
        self, scim: httpx.AsyncClient, parameter: str, value: str
    ) -> None:
        for resource in ("Users", "Groups"):
            response = await scim.get(f"/scim/v2/{resource}", params={parameter: value})

            assert_scim_error(response, 400, "invalidValue")
            assert parameter in response.json()["detail"]

    async def test_a_nul_in_an_attribute_is_a_400_naming_it(self, scim: httpx.AsyncClient) -> None:
        body = okta_user("nul@northwind.example", title="Ana\u0000lyst")

        response = await scim.post("/scim/v2/Users", json=body)

        assert_scim_error(response, 400, "invalidValue")
        assert "title" in response.json()["detail"]
        listed = await scim.get(
            "/scim/v2/Users", params={"filter": 'userName eq "nul@northwind.example"'}
        )
        assert listed.json()["totalResults"] == 0

    async def test_pages_by_start_index_and_count_with_integer_totals(
        self, scim: httpx.AsyncClient
    ) -> None:
        before = (await scim.get("/scim/v2/Users", params={"count": 0})).json()["totalResults"]
        created = [(await create_user(scim))["id"] for _ in range(3)]

        first = await scim.get("/scim/v2/Users", params={"startIndex": before + 1, "count": 2})
        rest = await scim.get("/scim/v2/Users", params={"startIndex": before + 3, "count": 2})

        first, rest = first.json(), rest.json()
        assert first["totalResults"] == before + 3
        assert (first["startIndex"], first["itemsPerPage"]) == (before + 1, 2)
        assert rest["itemsPerPage"] == 1
        ids = [u["id"] for u in first["Resources"] + rest["Resources"]]
        assert ids == created  # stable: oldest first, no repeats


class TestReplaceUser:
    async def test_put_replaces_every_attribute(self, scim: httpx.AsyncClient) -> None:
        user = await create_user(scim)
        replacement = okta_user(user["userName"], title="Lead analyst")
        del replacement[ENTERPRISE]

        response = await scim.put(f"/scim/v2/Users/{user['id']}", json=replacement)

        assert response.status_code == 200
        body = response.json()
        assert body["title"] == "Lead analyst"
        assert "department" not in body.get(ENTERPRISE, {})

    async def test_an_unknown_user_is_a_404(self, scim: httpx.AsyncClient) -> None:
        response = await scim.put(f"/scim/v2/Users/{uuid.uuid4()}", json=okta_user("x@y.z"))

        assert_scim_error(response, 404)


class TestPatchUser:
    async def test_okta_deactivation_signs_the_person_out_but_keeps_them(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        user = await create_user(scim)
        person_id = uuid.UUID(user["id"])
        assert (await stack.as_user(person_id).get("/api/v1/me")).status_code == 200

        response = await scim.patch(
            f"/scim/v2/Users/{user['id']}",
            json=patch({"op": "replace", "value": {"active": False}}),
        )

        assert response.status_code == 200
        assert response.json()["active"] is False
        refused = await stack.as_user(person_id).get("/api/v1/me")
        assert refused.json()["type"] == "urn:smp:problem:account-deactivated"
        kept = await stack.as_service("incidents").get(f"/api/v1/directory/people/{person_id}")
        assert kept.json()["active"] is False

    async def test_entra_capitalised_ops_and_string_booleans(self, scim: httpx.AsyncClient) -> None:
        user = await create_user(scim)

        response = await scim.patch(
            f"/scim/v2/Users/{user['id']}",
            json=patch(
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Replace", "path": "title", "value": "Controller"},
                {
                    "op": "Add",
                    "path": 'emails[type eq "work"].value',
                    "value": "new@northwind.example",
                },
            ),
        )

        body = response.json()
        assert body["active"] is False
        assert body["title"] == "Controller"
        assert body["emails"][0]["value"] == "new@northwind.example"

    async def test_entra_sets_and_removes_the_manager_by_enterprise_path(
        self, scim: httpx.AsyncClient
    ) -> None:
        manager = await create_user(scim)
        user = await create_user(scim)
        path = f"{ENTERPRISE}:manager"

        added = await scim.patch(
            f"/scim/v2/Users/{user['id']}",
            json=patch({"op": "Add", "path": path, "value": manager["id"]}),
        )
        removed = await scim.patch(
            f"/scim/v2/Users/{user['id']}", json=patch({"op": "Remove", "path": path})
        )

        assert added.json()[ENTERPRISE]["manager"]["value"] == manager["id"]
        assert "manager" not in removed.json()[ENTERPRISE]

    async def test_path_less_value_with_dotted_and_urn_keys(self, scim: httpx.AsyncClient) -> None:
        user = await create_user(scim)

        response = await scim.patch(
            f"/scim/v2/Users/{user['id']}",
            json=patch(
                {
                    "op": "replace",
                    "value": {"name.givenName": "Augusta", f"{ENTERPRISE}:department": "Research"},
                }
            ),
        )

        body = response.json()
        assert body["name"]["givenName"] == "Augusta"
        assert body[ENTERPRISE]["department"] == "Research"

    async def test_an_unknown_op_is_a_400_and_changes_nothing(
        self, scim: httpx.AsyncClient
    ) -> None:
        user = await create_user(scim)

        response = await scim.patch(
            f"/scim/v2/Users/{user['id']}",
            json=patch(
                {"op": "replace", "path": "title", "value": "Changed"},
                {"op": "explode", "path": "title"},
            ),
        )
        after = await scim.get(f"/scim/v2/Users/{user['id']}")

        assert_scim_error(response, 400, "invalidSyntax")
        assert after.json()["title"] == "Analyst"


FULL_NAME = {
    "formatted": "Dr. Ada King-Noel, Countess of Lovelace",
    "familyName": "King-Noel",
    "givenName": "Ada",
    "middleName": "Augusta",
    "honorificPrefix": "Dr.",
    "honorificSuffix": "Countess of Lovelace",
}
EMAILS: list[dict[str, Any]] = [
    {"value": "ada@home.example", "type": "home", "primary": False},
    {"value": "Ada.King@Northwind.example", "type": "work", "primary": True},
    {"value": "countess@example.org", "type": "Other-Custom", "display": "Countess"},
]


class TestAttributesAsSent:
    """What an identity provider sends comes back as it was sent: it compares the two and
    pushes again on any difference, and its admins see the values they typed."""

    async def test_put_stores_name_emails_and_preferred_language_as_sent(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        user = await create_user(scim)
        body = okta_user(
            user["userName"],
            name=FULL_NAME,
            emails=EMAILS,
            preferredLanguage="nl-BE",
            locale="en-GB",
        )

        put = await scim.put(f"/scim/v2/Users/{user['id']}", json=body)
        got = await scim.get(f"/scim/v2/Users/{user['id']}")

        for answer in (put, got):
            assert answer.status_code == 200, answer.text
            assert answer.json()["name"] == FULL_NAME
            assert answer.json()["emails"] == EMAILS  # order, type, primary (or none) as sent
            assert answer.json()["preferredLanguage"] == "nl-BE"
            assert answer.json()["locale"] == "en-GB"
        person = await stack.as_service("coaching").get(f"/api/v1/directory/people/{user['id']}")
        # The directory's address (notifications go there) is the primary one.
        assert person.json()["email"] == "Ada.King@Northwind.example"
        assert person.json()["display_name"] == FULL_NAME["formatted"]

    async def test_patch_replaces_name_formatted_and_keeps_the_rest_of_name(
        self, scim: httpx.AsyncClient
    ) -> None:
        user = await create_user(scim, name=FULL_NAME)

        response = await scim.patch(
            f"/scim/v2/Users/{user['id']}",
            json=patch({"op": "replace", "path": "name.formatted", "value": "Ada Lovelace"}),
        )

        assert response.status_code == 200, response.text
        assert response.json()["name"] == {**FULL_NAME, "formatted": "Ada Lovelace"}
        again = await scim.get(f"/scim/v2/Users/{user['id']}")
        assert again.json()["name"] == {**FULL_NAME, "formatted": "Ada Lovelace"}

    async def test_patch_adding_a_primary_address_makes_it_the_directory_address(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        user = await create_user(scim, emails=EMAILS)
        new = {"value": "ada@research.example", "type": "research", "primary": True}

        response = await scim.patch(
            f"/scim/v2/Users/{user['id']}",
            json=patch({"op": "add", "path": "emails", "value": [new]}),
        )

        assert response.status_code == 200, response.text
        # RFC 7644 §3.5.2: the old primary stops being primary; nothing else changes.
        assert response.json()["emails"] == [
            EMAILS[0],
            {**EMAILS[1], "primary": False},
            EMAILS[2],
            new,
        ]
        person = await stack.as_service("coaching").get(f"/api/v1/directory/people/{user['id']}")
        assert person.json()["email"] == "ada@research.example"

    async def test_patch_by_value_filter_changes_one_address_only(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        user = await create_user(scim, emails=EMAILS)

        response = await scim.patch(
            f"/scim/v2/Users/{user['id']}",
            json=patch(
                {
                    "op": "replace",
                    "path": 'emails[type eq "work"].value',
                    "value": "a.king@northwind.example",
                },
                {"op": "remove", "path": 'emails[type eq "home"]'},
            ),
        )

        assert response.status_code == 200, response.text
        assert response.json()["emails"] == [
            {**EMAILS[1], "value": "a.king@northwind.example"},
            EMAILS[2],
        ]
        person = await stack.as_service("coaching").get(f"/api/v1/directory/people/{user['id']}")
        assert person.json()["email"] == "a.king@northwind.example"

    async def test_removing_every_address_leaves_the_directory_without_one(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        user = await create_user(scim, emails=EMAILS)

        response = await scim.patch(
            f"/scim/v2/Users/{user['id']}", json=patch({"op": "remove", "path": "emails"})
        )

        assert response.status_code == 200, response.text
        assert "emails" not in response.json() or response.json()["emails"] == []
        person = await stack.as_service("coaching").get(f"/api/v1/directory/people/{user['id']}")
        assert person.json()["email"] is None

    async def test_two_primary_addresses_are_a_400_and_change_nothing(
        self, scim: httpx.AsyncClient
    ) -> None:
        user = await create_user(scim, emails=EMAILS)
        twice = [{**email, "primary": True} for email in EMAILS[:2]]

        response = await scim.put(
            f"/scim/v2/Users/{user['id']}", json=okta_user(user["userName"], emails=twice)
        )

        assert_scim_error(response, 400, "invalidValue")
        assert "emails" in response.json()["detail"]
        after = await scim.get(f"/scim/v2/Users/{user['id']}")
        assert after.json()["emails"] == EMAILS

    @pytest.mark.parametrize(
        "expression",
        [
            'emails.value eq "{address}"',
            'emails eq "{address}"',
            'emails[value eq "{address}"]',
        ],
    )
    async def test_filter_by_any_address_whatever_its_case(
        self, scim: httpx.AsyncClient, expression: str
    ) -> None:
        user = await create_user(scim, emails=EMAILS)
        await create_user(scim)

        for address in ("ada@home.example", "ada.king@northwind.EXAMPLE"):
            found = await scim.get(
                "/scim/v2/Users", params={"filter": expression.format(address=address)}
            )

            assert found.status_code == 200, found.text
            assert [u["id"] for u in found.json()["Resources"]] == [user["id"]]
        none = await scim.get(
            "/scim/v2/Users", params={"filter": expression.format(address="nobody@example.org")}
        )
        assert none.json()["totalResults"] == 0

    async def test_the_directory_address_follows_the_primary_then_work_then_first(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        no_primary = [
            {**EMAILS[0], "primary": False},
            {"value": "w@northwind.example", "type": "work"},
        ]
        first_only = [{"value": "first@example.org"}, {"value": "second@example.org"}]
        expected = {"w@northwind.example": no_primary, "first@example.org": first_only}

        for address, emails in expected.items():
            user = await create_user(scim, emails=emails)
            person = await stack.as_service("coaching").get(
                f"/api/v1/directory/people/{user['id']}"
            )

            assert person.json()["email"] == address
            assert user["emails"] == emails


class TestDeleteUser:
    async def test_delete_hides_the_user_from_scim_but_the_directory_keeps_them(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        user = await create_user(scim)

        deleted = await scim.delete(f"/scim/v2/Users/{user['id']}")
        gone = await scim.get(f"/scim/v2/Users/{user['id']}")
        kept = await stack.as_service("incidents").get(f"/api/v1/directory/people/{user['id']}")

        assert deleted.status_code == 204
        assert_scim_error(gone, 404)
        assert kept.json()["active"] is False

    async def test_recreating_a_deleted_user_name_brings_the_same_person_back(
        self, scim: httpx.AsyncClient
    ) -> None:
        user = await create_user(scim)
        await scim.delete(f"/scim/v2/Users/{user['id']}")

        again = await create_user(scim, user["userName"])

        assert again["id"] == user["id"]
        assert again["active"] is True


class TestGroups:
    async def test_membership_gives_the_mapped_role(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        user = await create_user(scim)

        created = await scim.post(
            "/scim/v2/Groups",
            json={"displayName": "HR", "members": [{"value": user["id"]}]},
        )
        me = await stack.as_user(uuid.UUID(user["id"])).get("/api/v1/me")

        assert created.status_code == 201
        assert created.json()["members"][0]["value"] == user["id"]
        assert me.json()["roles"] == ["employee", "hr"]

    async def test_entra_adds_and_removes_members(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        first, second = await create_user(scim), await create_user(scim)
        group = (await scim.post("/scim/v2/Groups", json={"displayName": "Legal"})).json()

        await scim.patch(
            f"/scim/v2/Groups/{group['id']}",
            json=patch(
                {
                    "op": "Add",
                    "path": "members",
                    "value": [{"value": first["id"]}, {"value": second["id"]}],
                }
            ),
        )
        after = await scim.patch(
            f"/scim/v2/Groups/{group['id']}",
            json=patch({"op": "Remove", "path": f'members[value eq "{first["id"]}"]'}),
        )
        roles_first = (await stack.as_user(uuid.UUID(first["id"])).get("/api/v1/me")).json()[
            "roles"
        ]
        roles_second = (await stack.as_user(uuid.UUID(second["id"])).get("/api/v1/me")).json()[
            "roles"
        ]

        assert [m["value"] for m in after.json()["members"]] == [second["id"]]
        assert roles_first == ["employee"]
        assert roles_second == ["employee", "legal"]

    async def test_okta_renames_with_a_path_less_replace(self, scim: httpx.AsyncClient) -> None:
        group = (await scim.post("/scim/v2/Groups", json={"displayName": "Coaches"})).json()

        response = await scim.patch(
            f"/scim/v2/Groups/{group['id']}",
            json=patch(
                {"op": "replace", "value": {"id": group["id"], "displayName": "Coaching team"}}
            ),
        )

        assert response.json()["displayName"] == "Coaching team"

    async def test_a_taken_display_name_is_a_409(self, scim: httpx.AsyncClient) -> None:
        first = await scim.post("/scim/v2/Groups", json={"displayName": "Communications"})

        response = await scim.post("/scim/v2/Groups", json={"displayName": "communications"})

        assert first.status_code == 201
        assert_scim_error(response, 409, "uniqueness")

    async def test_an_unknown_member_is_a_400(self, scim: httpx.AsyncClient) -> None:
        response = await scim.post(
            "/scim/v2/Groups", json={"displayName": "X", "members": [{"value": str(uuid.uuid4())}]}
        )

        assert_scim_error(response, 400, "invalidValue")

    async def test_filter_put_and_delete(self, stack: StackHandle, scim: httpx.AsyncClient) -> None:
        user = await create_user(scim)
        group = (
            await scim.post(
                "/scim/v2/Groups",
                json={"displayName": "Policy Owners", "members": [{"value": user["id"]}]},
            )
        ).json()

        found = await scim.get(
            "/scim/v2/Groups", params={"filter": 'displayName eq "policy owners"'}
        )
        replaced = await scim.put(
            f"/scim/v2/Groups/{group['id']}", json={"displayName": "Policy Owners", "members": []}
        )
        roles = (await stack.as_user(uuid.UUID(user["id"])).get("/api/v1/me")).json()["roles"]
        deleted = await scim.delete(f"/scim/v2/Groups/{group['id']}")

        assert found.json()["totalResults"] == 1
        assert replaced.json().get("members", []) == []
        assert roles == ["employee"]
        assert deleted.status_code == 204
        assert_scim_error(await scim.get(f"/scim/v2/Groups/{group['id']}"), 404)


class TestDiscovery:
    async def test_service_provider_config_announces_patch_and_filter(
        self, scim: httpx.AsyncClient
    ) -> None:
        body = (await scim.get("/scim/v2/ServiceProviderConfig")).json()

        assert body["patch"]["supported"] is True
        assert body["filter"] == {"supported": True, "maxResults": 200}
        assert body["bulk"]["supported"] is False

    async def test_resource_types_and_schemas(self, scim: httpx.AsyncClient) -> None:
        types = (await scim.get("/scim/v2/ResourceTypes")).json()
        schemas = (await scim.get("/scim/v2/Schemas")).json()
        enterprise = await scim.get(f"/scim/v2/Schemas/{ENTERPRISE}")

        user_type = next(t for t in types["Resources"] if t["id"] == "User")
        assert user_type["schemaExtensions"][0]["schema"] == ENTERPRISE
        assert schemas["totalResults"] == 3
        names = {a["name"] for a in enterprise.json()["attributes"]}
        assert names == {"employeeNumber", "department", "manager"}


def served_scim_routes(stack: StackHandle) -> set[tuple[str, str]]:
    """(method, path below /scim/v2) of every route the gateway's SCIM app serves."""
    (mount,) = [
        r
        for r in stack.stack.apps["gateway"].routes
        if isinstance(r, Mount) and r.path == SCIM_PREFIX
    ]
    scim_app = mount.app.app  # type: ignore[attr-defined]
    return {
        (method.lower(), str(route.path))
        for route in iter_route_contexts(scim_app.routes)
        for method in route.methods or ()
        if method != "HEAD"
    }


def conforms(document: dict[str, Any], schema_name: str, instance: Any) -> list[str]:
    """Where ``instance`` breaks the document's component schema (empty: it conforms)."""
    schema = {"components": document["components"], "$ref": f"#/components/schemas/{schema_name}"}
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


class TestTypes:
    @pytest.mark.parametrize(
        "extra",
        [
            {"active": 0},
            {"active": "no"},
            {"emails": [{"value": "a@b.example", "primary": 1}]},
            {"schemas": [{}]},
            {ENTERPRISE: {"manager": {"value": {}}}},
            {ENTERPRISE: {"manager": {"value": "", "$ref": {}}}},
        ],
    )
    async def test_what_the_document_does_not_allow_is_a_400(
        self, scim: httpx.AsyncClient, extra: dict[str, Any]
    ) -> None:
        response = await scim.post("/scim/v2/Users", json=okta_user("t@northwind.example", **extra))

        assert_scim_error(response, 400, "invalidValue")

    async def test_null_is_unassigned_and_entra_string_booleans_are_booleans(
        self, scim: httpx.AsyncClient
    ) -> None:
        body = okta_user("n@northwind.example", title=None, active="False", schemas=None)
        body[ENTERPRISE] = None

        response = await scim.post("/scim/v2/Users", json=body)

        assert response.status_code == 201, response.text
        assert response.json()["active"] is False
        assert "title" not in response.json()


class TestWhatAnAnswerHolds:
    """attributes / excludedAttributes (RFC 7644 §3.4.2.5), and what comes back by default."""

    async def test_attributes_keeps_only_those_plus_id_schemas_and_meta(
        self, scim: httpx.AsyncClient
    ) -> None:
        user = await create_user(scim, name=FULL_NAME, emails=EMAILS)
        params = {"attributes": f"userName,NAME.givenName,emails.value,{ENTERPRISE}:department"}

        one = await scim.get(f"/scim/v2/Users/{user['id']}", params=params)
        listed = await scim.get(
            "/scim/v2/Users", params={**params, "filter": f'id eq "{user["id"]}"'}
        )

        for body in (one.json(), listed.json()["Resources"][0]):
            assert set(body) == {"schemas", "id", "meta", "userName", "name", "emails", ENTERPRISE}
            assert body["name"] == {"givenName": "Ada"}
            assert body["emails"] == [{"value": e["value"]} for e in EMAILS]
            assert body[ENTERPRISE] == {"department": "Finance"}

    async def test_excluded_attributes_leaves_those_out(self, scim: httpx.AsyncClient) -> None:
        user = await create_user(scim, name=FULL_NAME, emails=EMAILS)

        response = await scim.get(
            f"/scim/v2/Users/{user['id']}",
            params={"excludedAttributes": "emails,name.middleName,id"},
        )

        body = response.json()
        assert "emails" not in body
        assert body["name"] == {k: v for k, v in FULL_NAME.items() if k != "middleName"}
        assert body["id"] == user["id"]  # always returned
        assert body["userName"] == user["userName"]

    async def test_members_come_back_as_sent_and_their_names_on_request(
        self, scim: httpx.AsyncClient
    ) -> None:
        user = await create_user(scim)
        group = await scim.post(
            "/scim/v2/Groups", json={"displayName": "Readers", "members": [{"value": user["id"]}]}
        )
        group_id = group.json()["id"]

        plain = await scim.get(f"/scim/v2/Groups/{group_id}")
        named = await scim.get(
            f"/scim/v2/Groups/{group_id}", params={"attributes": "members.display,members.value"}
        )
        without = await scim.get("/scim/v2/Groups", params={"excludedAttributes": "members"})

        assert [set(m) for m in plain.json()["members"]] == [{"value", "$ref"}]
        assert named.json()["members"] == [{"value": user["id"], "display": "Ada Lovelace"}]
        assert all("members" not in g for g in without.json()["Resources"])

    async def test_display_name_comes_back_only_if_sent_and_the_directory_still_has_a_name(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        user = await create_user(scim, displayName="Ada L.")

        removed = await scim.patch(
            f"/scim/v2/Users/{user['id']}", json=patch({"op": "remove", "path": "displayName"})
        )

        assert user["displayName"] == "Ada L."
        assert "displayName" not in removed.json()
        person = await stack.as_service("coaching").get(f"/api/v1/directory/people/{user['id']}")
        assert person.json()["display_name"] == "Ada Lovelace"  # from name

    async def test_a_locale_that_is_no_language_tag_is_refused(
        self, scim: httpx.AsyncClient
    ) -> None:
        response = await scim.post(
            "/scim/v2/Users", json=okta_user("l@northwind.example", locale=str(uuid.uuid4()))
        )

        assert_scim_error(response, 400, "invalidValue")
        assert "locale" in response.json()["detail"]

    async def test_searching_every_resource_type_at_once_is_a_scim_501(
        self, scim: httpx.AsyncClient
    ) -> None:
        response = await scim.post("/scim/v2/.search", json={"filter": 'userName eq "x"'})

        assert_scim_error(response, 501)


class TestOpenApiDocument:
    """``/scim/v2/openapi.json``: the SCIM interface in OpenAPI, for integrators' tooling."""

    async def test_every_scim_route_the_gateway_serves_is_in_it(
        self, stack: StackHandle, scim: httpx.AsyncClient
    ) -> None:
        response = await scim.get("/scim/v2/openapi.json")

        assert response.status_code == 200
        document = response.json()
        assert document["openapi"].startswith("3.1")
        assert document["servers"][0]["url"].endswith("/scim/v2")
        listed = {
            (method, path)
            for path, item in document["paths"].items()
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        }
        served = served_scim_routes(stack)
        assert ("patch", "/Users/{user_id}") in served
        assert listed == served
        for path, item in document["paths"].items():
            for method, op in item.items():
                assert op["tags"] == ["scim"], (method, path)
                assert {"401", "403", "429"} <= set(op["responses"]), (method, path)

    async def test_its_resource_schemas_hold_every_attribute_schemas_serves(
        self, scim: httpx.AsyncClient
    ) -> None:
        document = (await scim.get("/scim/v2/openapi.json")).json()
        discovery = (await scim.get("/scim/v2/Schemas")).json()["Resources"]

        components = document["components"]["schemas"]
        for schema in discovery:
            properties = components[schema["name"]]["properties"]
            assert {a["name"] for a in schema["attributes"]} <= set(properties), schema["name"]
        name = components["User"]["properties"]["name"]["properties"]
        assert set(name) == {
            "formatted", "familyName", "givenName",
            "middleName", "honorificPrefix", "honorificSuffix",
        }  # fmt: skip
        extension = components["User"]["properties"][ENTERPRISE]["anyOf"]
        assert {"$ref": "#/components/schemas/EnterpriseUser"} in extension

    async def test_what_scim_answers_conforms_to_it(self, scim: httpx.AsyncClient) -> None:
        document = (await scim.get("/scim/v2/openapi.json")).json()
        manager = await create_user(scim)
        extension: dict[str, Any] = {ENTERPRISE: {"manager": {"value": manager["id"]}}}
        user = await create_user(
            scim, name=FULL_NAME, emails=EMAILS, preferredLanguage="nl-BE", **extension
        )
        group = await scim.post(
            "/scim/v2/Groups", json={"displayName": "Auditors", "members": [{"value": user["id"]}]}
        )
        answers = {
            "User": [user, (await scim.get(f"/scim/v2/Users/{user['id']}")).json()],
            "UserList": [(await scim.get("/scim/v2/Users")).json()],
            "Group": [group.json()],
            "GroupList": [(await scim.get("/scim/v2/Groups")).json()],
            "Error": [
                (await scim.get(f"/scim/v2/Users/{uuid.uuid4()}")).json(),
                (await scim.get("/scim/v2/Users", params={"filter": "nope"})).json(),
            ],
            "SchemaList": [(await scim.get("/scim/v2/Schemas")).json()],
        }

        for schema_name, bodies in answers.items():
            for body in bodies:
                assert conforms(document, schema_name, body) == [], schema_name
        assert conforms(document, "User", {**user, "active": "yes"}) != []  # the check bites

    async def test_it_needs_the_scim_scope_like_the_rest_of_scim(
        self, stack: StackHandle, api_client: ApiClientFactory
    ) -> None:
        reader = await api_client("directory:read")

        assert_scim_error(await stack.client().get("/scim/v2/openapi.json"), 401)
        assert_scim_error(await reader.get("/scim/v2/openapi.json"), 403)


class TestScimErrors:
    async def test_an_unknown_path_is_a_scim_404(self, scim: httpx.AsyncClient) -> None:
        assert_scim_error(await scim.get("/scim/v2/Nothing"), 404)

    async def test_a_wrong_method_is_a_scim_405_with_allow(self, scim: httpx.AsyncClient) -> None:
        response = await scim.delete("/scim/v2/Users")

        assert_scim_error(response, 405)
        assert response.headers["allow"] == "GET, POST"

    async def test_no_credentials_is_a_scim_401(self, stack: StackHandle) -> None:
        response = await stack.client().get("/scim/v2/Users")

        assert_scim_error(response, 401)

    async def test_a_bad_secret_is_a_scim_401(self, stack: StackHandle) -> None:
        client = stack.client(headers={"Authorization": f"Bearer smp_{uuid.uuid4().hex}_nope"})

        assert_scim_error(await client.get("/scim/v2/Users"), 401)

    async def test_a_person_is_refused_with_a_scim_403(self, stack: StackHandle) -> None:
        admin = await stack.person(roles=["admin"])

        assert_scim_error(await stack.as_user(admin).get("/scim/v2/Users"), 403)

    async def test_an_api_client_without_the_scim_scope_is_refused(
        self, api_client: ApiClientFactory
    ) -> None:
        reader = await api_client("directory:read")

        assert_scim_error(await reader.get("/scim/v2/Users"), 403)
