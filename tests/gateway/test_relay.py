"""The client that carries proxied requests, against a real HTTP server on a loopback socket
whose behaviour each test scripts: keep-alive reuse, streamed and chunked bodies both ways,
HEAD, 100 Continue, a connection the service closed, refusals and silence."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.proxy import UpstreamFailed, UpstreamTimedOut, UpstreamUnreachable
from gateway.relay import HttpUpstream
from tests.support.scripted_server import (
    Request,
    ScriptedServer,
    Writer,
    answer,
    json_answer,
)


@dataclass
class Relayed:
    status: int
    headers: dict[bytes, bytes]
    chunks: list[bytes]

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


async def relay(
    upstream: HttpUpstream,
    method: str,
    target: str,
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    body: AsyncIterator[bytes] | None = None,
) -> Relayed:
    messages: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        messages.append(message)

    await upstream.relay(method=method, target=target, headers=headers or [], body=body, send=send)
    start, *bodies = messages
    return Relayed(
        start["status"], dict(start["headers"]), [m["body"] for m in bodies if m["body"]]
    )


def upstream_to(
    url: str,
    *,
    read_timeout: float = 2.0,
    idle_seconds: float = 4.0,
    tls: ssl.SSLContext | None = None,
) -> HttpUpstream:
    return HttpUpstream(
        "training",
        url,
        connect_timeout=1.0,
        read_timeout=read_timeout,
        pool_size=4,
        idle_seconds=idle_seconds,
        tls=tls,
    )


async def pieces(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


async def late(part: bytes) -> AsyncIterator[bytes]:
    """A body whose one piece the client sends a moment after its head."""
    await asyncio.sleep(0.02)
    yield part


class TestKeepAlive:
    async def test_answers_are_relayed_and_the_connection_is_reused(self) -> None:
        async with ScriptedServer(json_answer) as server:
            upstream = upstream_to(server.url)
            first = await relay(upstream, "GET", "/api/v1/training/a?x=1")
            second = await relay(upstream, "GET", "/api/v1/training/b")
            await upstream.close()

        assert first.status == 200
        assert json.loads(first.body)["path"] == "/api/v1/training/a?x=1"
        assert first.headers[b"x-kept"] == b"yes"
        assert json.loads(second.body)["path"] == "/api/v1/training/b"
        assert server.connections == 1

    async def test_an_idle_connection_the_service_closed_is_replaced(self) -> None:
        async with ScriptedServer(json_answer) as server:
            upstream = upstream_to(server.url)
            await relay(upstream, "GET", "/first")
            for writer in server.writers:  # the service's keep-alive timeout
                writer.close()
            await asyncio.sleep(0.05)
            again = await relay(upstream, "GET", "/second")
            await upstream.close()

        assert json.loads(again.body)["path"] == "/second"
        assert server.connections == 2

    async def test_a_connection_idle_past_the_limit_is_closed_not_reused(self) -> None:
        # The service might be closing it (its keep-alive timeout) as the request goes out.
        async with ScriptedServer(json_answer) as server:
            upstream = upstream_to(server.url, idle_seconds=0.05)
            await relay(upstream, "GET", "/first")
            await asyncio.sleep(0.1)
            again = await relay(upstream, "POST", "/second", body=pieces(b"{}"))
            await asyncio.sleep(0.01)
            closed_before_shutdown = server.closed_by_client
            await upstream.close()

        assert json.loads(again.body)["path"] == "/second"
        assert server.connections == 2
        assert closed_before_shutdown == 1

    async def test_a_connection_close_answer_is_not_reused(self) -> None:
        async def close_after(request: Request, writer: Writer) -> bool:
            writer.write(answer(200, b"bye", "connection: close"))
            return False

        async with ScriptedServer(close_after) as server:
            upstream = upstream_to(server.url)
            for _ in range(2):
                assert (await relay(upstream, "GET", "/")).body == b"bye"
            await upstream.close()

        assert server.connections == 2


class TestBodies:
    async def test_a_chunked_answer_is_streamed_piece_by_piece(self) -> None:
        async def chunked(request: Request, writer: Writer) -> bool:
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            for part in (b"first,", b"second,", b"third"):
                writer.write(b"%x\r\n%s\r\n" % (len(part), part))
                await writer.drain()
                await asyncio.sleep(0.02)
            writer.write(b"0\r\n\r\n")
            return True

        async with ScriptedServer(chunked) as server:
            upstream = upstream_to(server.url)
            relayed = await relay(upstream, "GET", "/report.csv")
            await upstream.close()

        assert relayed.body == b"first,second,third"
        assert len(relayed.chunks) > 1  # streamed, not buffered whole

    async def test_a_large_answer_arrives_intact(self) -> None:
        payload = bytes(range(256)) * 8192  # 2 MiB

        async def large(request: Request, writer: Writer) -> bool:
            writer.write(answer(200, payload))
            return True

        async with ScriptedServer(large) as server:
            upstream = upstream_to(server.url)
            relayed = await relay(upstream, "GET", "/big")
            await upstream.close()

        assert relayed.body == payload

    async def test_a_streamed_request_body_is_sent_chunked(self) -> None:
        async with ScriptedServer(json_answer) as server:
            upstream = upstream_to(server.url)
            relayed = await relay(upstream, "POST", "/echo", body=pieces(b'{"a":', b" 1}"))
            await upstream.close()

        assert json.loads(relayed.body)["body"] == '{"a": 1}'
        assert server.received[0].headers["transfer-encoding"] == "chunked"

    async def test_a_request_body_with_a_length_is_sent_as_is(self) -> None:
        async with ScriptedServer(json_answer) as server:
            upstream = upstream_to(server.url)
            relayed = await relay(
                upstream,
                "PUT",
                "/echo",
                headers=[(b"content-length", b"7")],
                body=pieces(b"abc", b"defg"),
            )
            await upstream.close()

        assert json.loads(relayed.body)["body"] == "abcdefg"
        assert "transfer-encoding" not in server.received[0].headers

    async def test_a_small_body_reaches_the_service_with_its_head_in_one_read(self) -> None:
        body = json.dumps({"engagement": {"reason": "remedial", "modules": ["x"] * 40}}).encode()
        async with ScriptedServer(json_answer) as server:
            upstream = upstream_to(server.url)
            headers = [(b"content-length", str(len(body)).encode())]
            relayed = await relay(upstream, "PUT", "/measures", headers=headers, body=late(body))
            await upstream.close()

        assert json.loads(relayed.body)["body"] == body.decode()
        assert len(server.reads) == 1
        assert server.reads[0].startswith(b"PUT /measures HTTP/1.1\r\n")
        assert server.reads[0].endswith(b"\r\n\r\n" + body)

    async def test_a_streamed_body_that_turns_out_empty_is_sent_chunked_and_ended(
        self,
    ) -> None:
        async with ScriptedServer(json_answer) as server:
            upstream = upstream_to(server.url)
            relayed = await relay(upstream, "POST", "/echo", body=pieces())
            await upstream.close()

        assert relayed.status == 200
        assert json.loads(relayed.body)["body"] == ""
        assert server.received[0].headers["transfer-encoding"] == "chunked"

    async def test_head_gets_the_headers_and_no_body(self) -> None:
        async def head(request: Request, writer: Writer) -> bool:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n")
            return True

        async with ScriptedServer(head) as server:
            upstream = upstream_to(server.url)
            relayed = await relay(upstream, "HEAD", "/thing")
            await upstream.close()

        assert relayed.status == 200
        assert relayed.headers[b"content-length"] == b"1234"
        assert relayed.body == b""

    async def test_100_continue_is_skipped_for_the_real_answer(self) -> None:
        async def continue_first(request: Request, writer: Writer) -> bool:
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            writer.write(answer(201, b"made"))
            return True

        async with ScriptedServer(continue_first) as server:
            upstream = upstream_to(server.url)
            relayed = await relay(upstream, "POST", "/things", body=pieces(b"x"))
            await upstream.close()

        assert (relayed.status, relayed.body) == (201, b"made")


class TestFailures:
    async def test_a_refused_connection_is_unreachable(self) -> None:
        async with ScriptedServer(json_answer) as server:
            url = server.url
        upstream = upstream_to(url)  # the server is gone: nothing listens there

        with pytest.raises(UpstreamUnreachable):
            await relay(upstream, "GET", "/")

    async def test_a_silent_service_times_out(self) -> None:
        async def silent(request: Request, writer: Writer) -> bool:
            await asyncio.sleep(1)
            return True

        async with ScriptedServer(silent) as server:
            upstream = upstream_to(server.url, read_timeout=0.1)
            with pytest.raises(UpstreamTimedOut):
                await relay(upstream, "GET", "/")
            await upstream.close()

    async def test_a_post_on_a_connection_that_breaks_is_failed_not_retried(self) -> None:
        async def hang_up(request: Request, writer: Writer) -> bool:
            return False

        async with ScriptedServer(hang_up) as server:
            upstream = upstream_to(server.url)
            with pytest.raises(UpstreamFailed):
                await relay(upstream, "POST", "/things", body=pieces(b"x"))
            await upstream.close()

        assert len(server.received) == 1

    async def test_fetch_json_reads_a_document_and_refuses_errors(self) -> None:
        async def document(request: Request, writer: Writer) -> bool:
            if request.path == "/openapi.json":
                writer.write(answer(200, b'{"openapi": "3.1.0"}'))
            else:
                writer.write(answer(503, b"down"))
            return True

        async with ScriptedServer(document) as server:
            upstream = upstream_to(server.url)
            assert await upstream.fetch_json("/openapi.json", headers={}) == {"openapi": "3.1.0"}
            with pytest.raises(UpstreamUnreachable, match="503"):
                await upstream.fetch_json("/healthz", headers={})
            await upstream.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate, key) PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coaching.internal")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    """What the scripted service serves with."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


class TestHttps:
    async def test_an_https_service_with_a_trusted_certificate_is_relayed(
        self, certificate: tuple[Path, Path], server_tls: ssl.SSLContext
    ) -> None:
        trusting = ssl.create_default_context(cafile=str(certificate[0]))

        async with ScriptedServer(json_answer, tls=server_tls) as server:
            upstream = upstream_to(server.url, tls=trusting)
            relayed = await relay(upstream, "GET", "/secure")
            await upstream.close()

        assert json.loads(relayed.body)["path"] == "/secure"

    async def test_an_untrusted_certificate_is_refused(self, server_tls: ssl.SSLContext) -> None:

        async with ScriptedServer(json_answer, tls=server_tls) as server:
            upstream = upstream_to(server.url)  # the system's trust store only
            with pytest.raises(UpstreamUnreachable, match="certificate verify failed"):
                await relay(upstream, "GET", "/secure")
            await upstream.close()

        assert server.received == []
