"""kit.routing.IndexedRouter: every request gets the answer FastAPI's own router gives it."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from starlette.responses import PlainTextResponse

from kit.runtime import KitApp


def build(app: FastAPI) -> FastAPI:
    items = APIRouter(prefix="/api/v1/items")

    @items.get("/special")
    async def special() -> dict[str, str]:
        return {"route": "special"}

    @items.get("/{item_id}")
    async def read(item_id: str) -> dict[str, str]:
        return {"route": "read", "id": item_id}

    @items.put("/{item_id}")
    async def replace(item_id: str) -> dict[str, str]:
        return {"route": "replace", "id": item_id}

    @items.get("/{item_id}/parts/{number:int}")
    async def part(item_id: str, number: int) -> dict[str, object]:
        return {"route": "part", "number": number, "is_int": isinstance(number, int)}

    outer = APIRouter(prefix="/api/v1")
    outer.include_router(APIRouter(prefix="/nested"))
    nested = APIRouter(prefix="/deep")

    @nested.post("/{name}")
    async def deep(name: str) -> dict[str, str]:
        return {"route": "deep", "name": name}

    outer.include_router(nested)
    app.include_router(items)
    app.include_router(outer)

    @app.get("/own/{thing}")
    async def own(thing: str) -> dict[str, str]:
        return {"route": "own", "thing": thing}

    mounted = FastAPI()

    @mounted.get("/hello")
    async def hello() -> PlainTextResponse:
        return PlainTextResponse("mounted")

    app.mount("/sub", mounted)
    return app


REQUESTS = [
    ("GET", "/api/v1/items/special"),
    ("GET", "/api/v1/items/42"),
    ("PUT", "/api/v1/items/42"),
    ("DELETE", "/api/v1/items/42"),
    ("GET", "/api/v1/items/42/parts/7"),
    ("GET", "/api/v1/items/42/parts/seven"),
    ("POST", "/api/v1/deep/x"),
    ("GET", "/api/v1/deep/x"),
    ("GET", "/own/thing"),
    ("GET", "/sub/hello"),
    ("GET", "/nowhere"),
    ("HEAD", "/api/v1/items/42"),
]


async def answers(app: FastAPI) -> list[tuple[int, str, str | None]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        seen = []
        for method, path in REQUESTS:
            response = await client.request(method, path)
            seen.append((response.status_code, response.text, response.headers.get("allow")))
        return seen


async def test_every_request_gets_fastapis_answer() -> None:
    assert await answers(build(KitApp())) == await answers(build(FastAPI()))


async def test_a_route_added_after_the_first_request_is_served() -> None:
    app = build(KitApp())
    await answers(app)

    @app.get("/later")
    async def later() -> dict[str, str]:
        return {"route": "later"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/later")

    assert response.json() == {"route": "later"}


@pytest.mark.parametrize(("method", "path"), REQUESTS[:3])
async def test_the_index_answers_the_routes_it_knows(method: str, path: str) -> None:
    """Not the router's walk: the answer comes from the index (the router is not asked)."""
    app = build(KitApp())
    app.middleware_stack = app.build_middleware_stack()
    asked: list[str] = []
    original = app.router.app

    async def spy(scope, receive, send):  # type: ignore[no-untyped-def]
        asked.append(scope["path"])
        await original(scope, receive, send)

    app.router.middleware_stack = spy
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.request(method, path)

    assert response.status_code == 200
    assert asked == []
