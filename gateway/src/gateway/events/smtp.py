"""Sending messages over a connection made by ``aiosmtplib`` (greeting, EHLO, STARTTLS and
AUTH stay its work), in as few round trips as the server allows.

A server that offers PIPELINING (RFC 2920; every common relay does) gets each message in
one round trip: the previous message's content and its end travel in the same write as
this message's MAIL, RCPT and DATA, and their four replies come back together. Without
PIPELINING each command waits for its reply (``aiosmtplib``'s ``sendmail``: four round
trips a message). Either way a message counts as sent only once the server has accepted
its content.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import aiosmtplib

# Called once per message, in order: ``None`` when the server took it, else why it was
# refused (the recipient); a failure of the connection is raised instead.
Done = Callable[[Any, str | None], None]

_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass(frozen=True, slots=True)
class Outgoing:
    row: Any
    recipient: str
    content: bytes


class OneByOne:
    """A server without PIPELINING: ``aiosmtplib``'s ``sendmail`` per message."""

    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self.client = client

    @property
    def is_connected(self) -> bool:
        return self.client.is_connected

    async def send(self, sender: str, messages: Sequence[Outgoing], done: Done) -> None:
        for message in messages:
            try:
                await self.client.sendmail(sender, [message.recipient], message.content)
            except aiosmtplib.SMTPRecipientsRefused as error:
                done(message.row, f"refused: {error}")
                continue
            done(message.row, None)

    async def close(self) -> None:
        try:
            await self.client.quit()
        except (aiosmtplib.SMTPException, OSError, RuntimeError):
            self.client.close()


class _Replies(asyncio.Protocol):
    """The server's replies, parsed as they arrive: several may come in one read, which
    ``aiosmtplib``'s protocol (one reply per command) does not expect."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._lines: list[bytes] = []  # of the reply being read
        self._replies: deque[tuple[int, str]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.lost: Exception | None = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\n")) >= 0:
            line = bytes(self._buffer[: end + 1]).rstrip(b"\r\n")
            del self._buffer[: end + 1]
            self._lines.append(line[4:])
            if line[3:4] == b"-":  # more lines of this reply follow
                continue
            try:
                code = int(line[:3])
            except ValueError:
                self._lose(aiosmtplib.SMTPResponseException(-1, f"Malformed reply {line!r}"))
                return
            text = b"\n".join(self._lines).decode("utf-8", "surrogateescape")
            self._replies.append((code, text))
            self._lines = []
        self._wake()

    def eof_received(self) -> bool:
        self._lose(aiosmtplib.SMTPServerDisconnected("Unexpected EOF received"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lose(aiosmtplib.SMTPServerDisconnected("Connection lost"))

    def _lose(self, error: Exception) -> None:
        if self.lost is None:
            self.lost = error
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def reply(self, within: float) -> tuple[int, str]:
        try:
            async with asyncio.timeout(within):
                while not self._replies:
                    if self.lost is not None:
                        raise self.lost
                    self._waiter = asyncio.get_running_loop().create_future()
                    await self._waiter
        except TimeoutError as error:
            raise aiosmtplib.SMTPReadTimeoutError("Timed out waiting for a reply") from error
        return self._replies.popleft()


class Pipelined:
    """A server that offers PIPELINING: one round trip per message (see module doc)."""

    def __init__(self, client: aiosmtplib.SMTP, *, timeout: float) -> None:
        # A stream transport (uvloop's is not a registered ``asyncio.WriteTransport``).
        self.transport = cast("asyncio.WriteTransport", client.transport)
        self.timeout = timeout
        self.utf8 = client.supports_extension("smtputf8")
        # From here on the replies come to this connection, not to aiosmtplib's.
        self.replies = _Replies()
        self.transport.set_protocol(self.replies)

    @property
    def is_connected(self) -> bool:
        return self.replies.lost is None and not self.transport.is_closing()

    async def send(self, sender: str, messages: Sequence[Outgoing], done: Done) -> None:
        # The message whose DATA the server accepted; its content goes with the next write.
        accepted: Outgoing | None = None
        reset = False  # a transaction refused on its recipient is cleared with RSET
        for message in messages:
            ascii_only = sender.isascii() and message.recipient.isascii()
            if not ascii_only and not self.utf8:
                if accepted is not None:
                    self._write(_content(accepted))
                    await self._expect_taken(accepted, done)
                    accepted = None
                done(message.row, "refused: a non-ASCII address and no SMTPUTF8")
                continue
            option = b"" if ascii_only else b" SMTPUTF8"
            self._write(
                _content(accepted) if accepted is not None else b"",
                b"RSET\r\n" if reset else b"",
                b"MAIL FROM:<%s>%s\r\n" % (sender.encode(), option),
                b"RCPT TO:<%s>\r\n" % message.recipient.encode(),
                b"DATA\r\n",
            )
            if accepted is not None:
                await self._expect_taken(accepted, done)
            if reset:
                await self._expect(250, "RSET")
            await self._expect(250, "MAIL")
            recipient = await self.replies.reply(self.timeout)
            data = await self.replies.reply(self.timeout)
            accepted, reset = None, False
            if recipient[0] not in (250, 251):
                if data[0] == 354:  # a server that takes data for no one: end the transaction
                    raise aiosmtplib.SMTPDataError(*data)
                done(message.row, f"refused: ({recipient[0]}, {recipient[1]!r})")
                reset = True
            elif data[0] != 354:
                raise aiosmtplib.SMTPDataError(*data)
            else:
                accepted = message
        if accepted is not None:
            self._write(_content(accepted))
            await self._expect_taken(accepted, done)
        if reset:
            self._write(b"RSET\r\n")
            await self._expect(250, "RSET")

    async def close(self) -> None:
        try:
            if self.is_connected:
                self._write(b"QUIT\r\n")
                await self.replies.reply(self.timeout)
        except (aiosmtplib.SMTPException, OSError):
            pass
        finally:
            self.transport.close()

    def _write(self, *parts: bytes) -> None:
        if not self.is_connected:
            raise self.replies.lost or aiosmtplib.SMTPServerDisconnected("Connection lost")
        self.transport.write(b"".join(parts))

    async def _expect(self, code: int, command: str) -> None:
        found = await self.replies.reply(self.timeout)
        if found[0] != code:
            raise aiosmtplib.SMTPResponseException(found[0], f"{command}: {found[1]}")

    async def _expect_taken(self, message: Outgoing, done: Done) -> None:
        found = await self.replies.reply(self.timeout)
        if found[0] != 250:
            raise aiosmtplib.SMTPDataError(*found)
        done(message.row, None)


def _content(message: Outgoing) -> bytes:
    """The message as DATA carries it: lines starting with a dot doubled, then the end."""
    content = _LEADING_DOT.sub(b"..", message.content)
    if not content.endswith(b"\r\n"):
        content += b"\r\n"
    return content + b".\r\n"
