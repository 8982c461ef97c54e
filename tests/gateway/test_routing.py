"""What the router answers a client that has the method or the path slightly wrong."""

from __future__ import annotations

from kit.routing import without_trailing_slash
from tests.support.stack import StackHandle


class TestTrailingSlash:
    async def test_a_service_path_with_a_trailing_slash_redirects_to_the_public_path(
        self, stack: StackHandle
    ) -> None:
        client = stack.as_user(await stack.person())

        response = await client.get("/api/v1/training/modules/?limit=5")

        assert response.status_code == 308
        assert response.headers["location"] == "/api/v1/training/modules?limit=5"
        followed = await client.get(response.headers["location"])
        assert followed.status_code == 200

    async def test_the_gateways_own_paths_redirect_the_same_way(self, stack: StackHandle) -> None:
        response = await stack.as_user(await stack.person()).get("/api/v1/directory/people/")

        assert response.status_code == 308
        assert response.headers["location"] == "/api/v1/directory/people"

    async def test_a_post_is_redirected_with_its_method_kept(self, stack: StackHandle) -> None:
        response = await stack.as_user(await stack.person()).post("/api/v1/incidents/", json={})

        assert response.status_code == 308  # 308: the client repeats the POST, body and all
        assert response.headers["location"] == "/api/v1/incidents"

    def test_a_path_that_would_name_another_host_is_not_redirected(self) -> None:
        # Location: //evil.example would send a browser to another site.
        assert without_trailing_slash("//evil.example/", b"") is None
        assert without_trailing_slash("/", b"") is None
        assert without_trailing_slash("/api/v1/me//", b"a=1") == "/api/v1/me?a=1"


class TestWrongMethodOnAStaticPath:
    async def test_is_a_405_listing_the_allowed_methods(self, stack: StackHandle) -> None:
        response = await stack.as_user(await stack.person()).patch(
            "/api/v1/incidents/my-actions", json={}
        )

        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD"
        assert response.headers["content-type"] == "application/problem+json"
        assert "allowed: GET, HEAD" in response.json()["detail"]

    async def test_on_the_gateways_own_routes_too(self, stack: StackHandle) -> None:
        response = await stack.as_user(await stack.person()).delete("/api/v1/me")

        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD"

    async def test_the_parameterised_route_beside_it_still_answers(
        self, stack: StackHandle
    ) -> None:
        response = await stack.as_user(await stack.person()).get(
            "/api/v1/incidents/00000000-0000-0000-0000-000000000000"
        )

        assert response.status_code == 404
