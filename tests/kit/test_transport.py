"""The services' client transport to the gateway, against a real HTTP server on a loopback
socket: what a caller of ``httpx.AsyncClient`` sees (status, headers, JSON both ways, the
``httpx`` errors it catches) and the pooled connections under it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import time_machine

from kit.clients import gateway_client
from kit.context import set_request_id
from kit.identity import GATEWAY_AUDIENCE, InternalTokenSigner, InternalTokenVerifier
from kit.transport import Http1Transport
from tests.gateway import test_relay
from tests.support.processes import free_port
from tests.support.scripted_server import Request, ScriptedServer, Writer, answer, json_answer

# The self-signed certificate the relay's https tests use, and what the server serves with.
certificate = test_relay.certificate
server_tls = test_relay.server_tls


def client_to(url: str, *, idle_seconds: float = 4.0, timeout: float = 2.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url,
        transport=Http1Transport(max_connections=4, idle_seconds=idle_seconds),
        timeout=timeout,
    )


class TestAnswers:
    async def test_json_goes_out_and_comes_back_on_one_reused_connection(self) -> None:
        async with ScriptedServer(json_answer) as server, client_to(server.url) as client:
            first = await client.post("/api/v1/coaching/engagements", json={"goals": "x"})
            second = await client.get("/api/v1/directory/people/1", params={"a": "b c"})

        assert first.status_code == 200
        assert first.headers["x-kept"] == "yes"
        assert json.loads(first.json()["body"]) == {"goals": "x"}
        assert server.received[0].headers["content-type"] == "application/json"
        assert second.json()["path"] == "/api/v1/directory/people/1?a=b+c"
        assert server.connections == 1

    async def test_a_chunked_answer_arrives_whole(self) -> None:
        async def chunked(request: Request, writer: Writer) -> bool:
            writer.write(b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n")
            for part in (b'{"a"', b": 1}"):
                writer.write(b"%x\r\n%s\r\n" % (len(part), part))
                await writer.drain()
                await asyncio.sleep(0.01)
            writer.write(b"0\r\n\r\n")
            return True

        async with ScriptedServer(chunked) as server, client_to(server.url) as client:
            response = await client.get("/")

        assert (response.status_code, response.json()) == (201, {"a": 1})

    async def test_a_streamed_request_body_is_sent_with_its_length(self) -> None:
        async def parts() -> AsyncIterator[bytes]:
            for part in (b"ab", b"cd"):
                yield part

        async with ScriptedServer(json_answer) as server, client_to(server.url) as client:
            response = await client.post("/upload", content=parts())

        assert response.json()["body"] == "abcd"
        assert server.received[0].headers["content-length"] == "4"
        assert "transfer-encoding" not in server.received[0].headers

    async def test_the_service_client_signs_its_calls_and_names_each_request(self) -> None:
        signer = InternalTokenSigner("x" * 32)
        verifier = InternalTokenVerifier(["x" * 32], audience=GATEWAY_AUDIENCE)
        async with (
            ScriptedServer(json_answer) as server,
            gateway_client(base_url=server.url, signer=signer, service_name="incidents") as client,
        ):
            assert isinstance(client._transport, Http1Transport)
            for request_id in ("req-1", "req-2"):
                set_request_id(request_id)
                await client.get("/api/v1/directory/people")
            set_request_id(None)

        first, second = server.received
        assert [first.headers["x-request-id"], second.headers["x-request-id"]] == [
            "req-1",
            "req-2",
        ]
        # One token for both (it names only the principal); the request id is the header's.
        assert first.headers["authorization"] == second.headers["authorization"]
        token = first.headers["authorization"].removeprefix("Bearer ")
        assert verifier.verify(token).subject == "service:incidents"

    async def test_a_token_past_half_its_lifetime_is_replaced(self) -> None:
        signer = InternalTokenSigner("x" * 32, lifetime_seconds=30)
        with time_machine.travel(dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC), tick=False) as clock:
            async with (
                ScriptedServer(json_answer) as server,
                gateway_client(
                    base_url=server.url, signer=signer, service_name="coaching"
                ) as client,
            ):
                await client.get("/a")
                clock.shift(14)
                await client.get("/b")
                clock.shift(2)
                await client.get("/c")

        tokens = [request.headers["authorization"] for request in server.received]
        assert tokens[0] == tokens[1] != tokens[2]


class TestConnections:
    async def test_an_idle_connection_the_server_closed_is_replaced(self) -> None:
        async with ScriptedServer(json_answer) as server, client_to(server.url) as client:
            await client.get("/first")
            for writer in server.writers:  # the server's keep-alive timeout
                writer.close()
            await asyncio.sleep(0.05)
            again = await client.post("/second", json={})

        assert again.json()["path"] == "/second"
        assert server.connections == 2

    async def test_a_connection_idle_past_the_limit_is_not_reused(self) -> None:
        async with (
            ScriptedServer(json_answer) as server,
            client_to(server.url, idle_seconds=0.05) as client,
        ):
            await client.get("/first")
            await asyncio.sleep(0.1)
            await client.post("/second", json={})

        assert server.connections == 2

    async def test_a_connection_close_answer_is_not_reused(self) -> None:
        async def close_after(request: Request, writer: Writer) -> bool:
            writer.write(answer(200, b"bye", "connection: close"))
            return False

        async with ScriptedServer(close_after) as server, client_to(server.url) as client:
            for _ in range(2):
                assert (await client.get("/")).text == "bye"

        assert server.connections == 2


class TestErrors:
    async def test_nobody_listening_is_a_connect_error(self) -> None:
        async with client_to(f"http://127.0.0.1:{free_port()}") as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("/")

    async def test_a_silent_server_is_a_read_timeout(self) -> None:
        async def silent(request: Request, writer: Writer) -> bool:
            await asyncio.sleep(1)
            return True

        async with ScriptedServer(silent) as server, client_to(server.url, timeout=0.1) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get("/")

    async def test_a_post_whose_connection_breaks_is_not_sent_again(self) -> None:
        async def hang_up(request: Request, writer: Writer) -> bool:
            return False

        async with ScriptedServer(hang_up) as server, client_to(server.url) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post("/engagements", json={})

        assert len(server.received) == 1

    async def test_an_https_url_is_refused_without_a_tls_context(self) -> None:
        async with client_to("https://127.0.0.1:1") as client:
            with pytest.raises(httpx.UnsupportedProtocol):
                await client.get("/")


class TestHttps:
    """With a TLS context (the gateway's webhook deliveries), ``https://`` too, the
    server's certificate checked against it."""

    async def test_a_trusted_certificate_carries_the_request(
        self, certificate: tuple[Path, Path], server_tls: ssl.SSLContext
    ) -> None:
        trusting = ssl.create_default_context(cafile=str(certificate[0]))
        async with ScriptedServer(json_answer, tls=server_tls) as server:
            transport = Http1Transport(max_connections=2, tls=trusting)
            async with httpx.AsyncClient(base_url=server.url, transport=transport) as client:
                first = await client.post("/in", content=b'{"a": 1}')
                second = await client.post("/in", content=b'{"a": 2}')

        assert (first.status_code, second.status_code) == (200, 200)
        assert json.loads(second.json()["body"]) == {"a": 2}
        assert server.connections == 1

    async def test_an_untrusted_certificate_is_a_connect_error(
        self, server_tls: ssl.SSLContext
    ) -> None:
        async with ScriptedServer(json_answer, tls=server_tls) as server:
            transport = Http1Transport(max_connections=2, tls=ssl.create_default_context())
            async with httpx.AsyncClient(base_url=server.url, transport=transport) as client:
                with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
                    await client.post("/in", content=b"{}")

        assert server.received == []
