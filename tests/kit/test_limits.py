"""kit.limits: a body that never finishes arriving, and NUL in the path or query string."""

from __future__ import annotations

import asyncio
import json

from fastapi import FastAPI, Request
from starlette.types import Message

from kit.edge import EdgeMiddleware
from kit.errors import install_error_handlers
from tests.kit.conftest import Notes


def echo_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return app


async def call(app: object, chunks: list[bytes], *, pause: float) -> tuple[int, dict[str, object]]:
    """Sends ``chunks`` as a streamed body, ``pause`` seconds apart; the status and body."""
    pending = list(chunks)
    sent: list[Message] = []

    async def receive() -> Message:
        if len(pending) < len(chunks):
            await asyncio.sleep(pause)
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/echo",
        "raw_path": b"/echo",
        "query_string": b"",
        "headers": [(b"transfer-encoding", b"chunked")],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("test", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }
    await app(scope, receive, send)  # type: ignore[operator]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body)


class TestBodyReadTimeout:
    async def test_a_body_trickling_in_past_the_timeout_is_a_408(self) -> None:
        app = EdgeMiddleware(echo_app(), app_name="echo", max_bytes=1000, timeout_seconds=0.2)

        status, body = await call(app, [b"a"] * 20, pause=0.05)

        assert status == 408
        assert body["type"] == "urn:smp:problem:request-timeout"

    async def test_a_body_arriving_in_time_is_read_whole(self) -> None:
        app = EdgeMiddleware(echo_app(), app_name="echo", max_bytes=1000, timeout_seconds=1.0)

        status, body = await call(app, [b"a"] * 5, pause=0.01)

        assert (status, body) == (200, {"bytes": 5})


class TestUnstorableInput:
    async def test_a_nul_in_a_query_parameter_is_a_422_naming_it(self, notes: Notes) -> None:
        response = await notes.client().get("/api/v1/notes?limit=10&cursor=a%00b")

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["parameter"] == "cursor"

    async def test_a_nul_in_the_path_is_a_422(self, notes: Notes) -> None:
        response = await notes.client().get("/api/v1/notes/abc%00def")

        assert response.status_code == 422
        assert response.json()["errors"][0]["parameter"] == "path"

    async def test_a_nul_in_a_body_field_is_a_422_naming_it_and_nothing_is_written(
        self, notes: Notes
    ) -> None:
        client = notes.client()

        response = await client.post("/api/v1/notes", json={"title": "a\u0000b"})

        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["pointer"] == "#/title"
        assert (await client.get("/api/v1/notes")).json()["items"] == []
