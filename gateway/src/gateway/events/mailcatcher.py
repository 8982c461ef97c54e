"""A local SMTP server that keeps every message it receives, for development and tests
(``make run`` starts it: ``python -m gateway.events.mailcatcher``). It delivers nothing: each
message is kept in memory and, given a directory, written there as an ``.eml`` file.

Needs ``aiosmtpd`` (a development dependency): the gateway image does not ship it, and
staging points ``GATEWAY_SMTP_*`` at a real catcher or relay instead.
"""

from __future__ import annotations

import argparse
import email
import email.message
import email.policy
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

READY_TIMEOUT_SECONDS = 30.0


class _Keeper:
    def __init__(self, catcher: MailCatcher) -> None:
        self.catcher = catcher

    async def handle_EHLO(  # noqa: N802 (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        # aiosmtpd reads pipelined commands in order but does not say so: say it, as
        # relays do (RFC 2920), unless told to act like a server without it.
        session.host_name = hostname
        if self.catcher.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.catcher.refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        self.catcher.keep(message, content)
        return "250 Message accepted for delivery"


class MailCatcher:
    """``start()`` listens on ``host:port`` (0: a free port, then read ``port``)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        directory: Path | None = None,
        pipelining: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.directory = directory
        # Whether the server offers PIPELINING, and which recipients it refuses (tests).
        self.pipelining = pipelining
        self.refused: set[str] = set()
        self.messages: list[email.message.EmailMessage] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> None:
        if self.port == 0:
            with socket.socket() as sock:
                sock.bind((self.host, 0))
                self.port = int(sock.getsockname()[1])
        self._controller = Controller(
            _Keeper(self), hostname=self.host, port=self.port, ready_timeout=READY_TIMEOUT_SECONDS
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def keep(self, message: email.message.EmailMessage, content: bytes) -> None:
        with self._lock:
            self.messages.append(message)
            number = len(self.messages)
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{time.strftime('%Y%m%d-%H%M%S')}-{number:05d}.eml"
            path.write_bytes(content)
            print(f"mail: {message['To']}: {message['Subject']}  ->  {path}", flush=True)

    def to(self, address: str) -> list[email.message.EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def __enter__(self) -> MailCatcher:
        self.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()


def serve(*, host: str, port: int, directory: str) -> int:
    """Catch until Ctrl-C or SIGTERM (``make run``'s ``mail`` process)."""
    path = Path(directory)
    catcher = MailCatcher(host=host, port=port, directory=path)
    # Blocked before the server's thread starts (it inherits the mask), so only sigwait
    # sees them: Ctrl-C or honcho's SIGTERM stops the catcher cleanly.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    catcher.start()
    print(f"mail: catching on {host}:{port}; messages in {path.resolve()}/", flush=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    catcher.stop()
    return 0


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--directory", default="var/mail", help="where the .eml files go")


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="python -m gateway.events.mailcatcher")
    arguments(_parser)
    _args = _parser.parse_args()
    raise SystemExit(serve(host=_args.host, port=_args.port, directory=_args.directory))
