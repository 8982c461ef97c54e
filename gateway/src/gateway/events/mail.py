"""Sending e-mail: queued rows (``email_messages``) sent over SMTP by a background sender.

The intake writes a row per message in the transaction that takes the event in, then
wakes this process's sender; any replica's sender claims due rows with a lease, sends a
batch over its SMTP connection (kept open between rounds, made again once the server has
closed it), deletes what the server accepted and puts the rest back with exponential
backoff. So when the SMTP server is down the request that caused the
message still succeeds, the message waits, and nothing is lost across a restart. The
messages the intake of this process queues are handed to its sender directly after the
commit (``kit.jobs.Handover``): sent without being claimed, the table looked at only at
the poll or when a retry is due.
"""

from __future__ import annotations

import asyncio
import binascii
import datetime as dt
import email.header
import email.utils
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosmtplib
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import GatewaySettings
from gateway.events import smtp
from gateway.events.models import EmailMessage
from gateway.metrics import DELIVERIES_TOTAL
from kit.db import Database, table_of, utcnow
from kit.jobs import MAX_ERROR_LENGTH, Backoff, Handover, claim_due, seconds_until_due

logger = logging.getLogger("gateway.events.mail")

BATCH_SIZE = 50
LEASE = dt.timedelta(minutes=2)


def _header(value: str) -> str:
    """A header value on one line (nothing a template put in can start a new header),
    RFC 2047-encoded when it is not plain ASCII or too long for one line."""
    value = " ".join(value.splitlines())
    if value.isascii() and len(value) <= 900:
        return value
    return email.header.Header(value, "utf-8", maxlinelen=76).encode()


def _quoted_printable(text: str) -> str:
    return binascii.b2a_qp(text.encode()).decode("ascii")


def build_message(row: Any, *, sender: str) -> bytes:
    """A multipart/alternative message: the plain text, then the HTML, both UTF-8 and
    quoted-printable. Written out directly: the ``email`` package's header objects and
    generator cost more CPU than the rest of an e-mail's journey (bench.outbox's profile)."""
    boundary = f"=={row.id.hex}=="
    headers = [
        f"From: {_header(sender)}",
        f"To: {_header(row.to_address)}",
        f"Subject: {_header(row.subject)}",
        f"Date: {email.utils.format_datetime(utcnow())}",
        f"Message-ID: <{row.id.hex}@smp.local>",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    parts = [
        f"--{boundary}\r\n"
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        f"{_quoted_printable(body)}\r\n"
        for subtype, body in (("plain", row.text), ("html", row.html))
    ]
    return ("\r\n".join(headers) + "\r\n\r\n" + "".join(parts) + f"--{boundary}--\r\n").encode(
        "ascii"
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a batch of messages: accepted by the server, or why not."""

    sent: list[Any]
    failed: list[tuple[Any, str]]


class Mailer:
    """The e-mail sender of one gateway process (see module doc); its background loop is
    :class:`gateway.events.senders.Senders`."""

    def __init__(self, database: Database, settings: GatewaySettings) -> None:
        self.database = database
        self.settings = settings
        self.backoff = Backoff(settings.email_retry_base_seconds, settings.email_retry_max_seconds)
        self._sent = DELIVERIES_TOTAL.labels("email", "delivered")
        self._failed = DELIVERIES_TOTAL.labels("email", "failed")
        self.handover = Handover(LEASE)
        self._smtp: smtp.Pipelined | smtp.OneByOne | None = None
        # The settings and event loop the open connection was made with.
        self._smtp_for: tuple[GatewaySettings, asyncio.AbstractEventLoop] | None = None

    async def close(self) -> None:
        """Close the SMTP connection kept open between rounds, if there is one."""
        await self._disconnect()

    def _client(self) -> aiosmtplib.SMTP:
        settings = self.settings
        return aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            use_tls=settings.smtp_tls,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )

    async def _connection(self) -> tuple[smtp.Pipelined | smtp.OneByOne, bool]:
        """The open SMTP connection and whether it is new: the background loop keeps one
        open between rounds (a connection and its greeting cost more than a message); it
        is made again once the server closed it or the settings changed. Made by
        aiosmtplib (STARTTLS, login); pipelined when the server offers it."""
        loop = asyncio.get_running_loop()
        kept = self._smtp
        if kept is not None and kept.is_connected and self._smtp_for == (self.settings, loop):
            return kept, False
        await self._disconnect()
        client = self._client()
        await client.connect()
        if client.is_ehlo_or_helo_needed:  # no STARTTLS or login asked for one yet
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()
        connection = (
            smtp.Pipelined(client, timeout=self.settings.smtp_timeout_seconds)
            if client.supports_extension("pipelining")
            else smtp.OneByOne(client)
        )
        self._smtp, self._smtp_for = connection, (self.settings, loop)
        return connection, True

    async def _disconnect(self) -> None:
        connection, self._smtp, self._smtp_for = self._smtp, None, None
        if connection is not None:
            await connection.close()

    async def send_due(self, *, keep_open: bool = False) -> int:
        """Send one batch of due messages; how many the server accepted."""
        table = table_of(EmailMessage)
        async with self.database.transaction() as session:
            rows = await claim_due(session, table, limit=BATCH_SIZE, lease=LEASE)
        if not rows:
            return 0
        return await self._send(rows, keep_open=keep_open)

    async def _send(self, rows: Sequence[Any], *, keep_open: bool = False) -> int:
        """Send leased ``rows`` over one connection and record the outcome; how many the
        server accepted. ``keep_open``: leave the connection open for the next batch."""
        outcome = await self.deliver(rows, keep_open=keep_open)
        async with self.database.transaction() as session:
            await self.record(session, outcome)
        self.count(outcome)
        return len(outcome.sent)

    async def deliver(self, rows: Sequence[Any], *, keep_open: bool = False) -> Outcome:
        """Send leased ``rows`` over one connection (recorded by the caller)."""
        sent: list[Any] = []
        failed: list[tuple[Any, str]] = []
        envelope_from = email.utils.parseaddr(self.settings.mail_from)[1]
        index, reconnected = 0, False

        def done(row: Any, refused: str | None) -> None:
            nonlocal index
            if refused is None:
                sent.append(row)
            else:
                failed.append((row, refused))
            index += 1

        while index < len(rows):
            fresh = True
            try:
                connection, fresh = await self._connection()
                messages = [
                    smtp.Outgoing(
                        row, row.to_address, build_message(row, sender=self.settings.mail_from)
                    )
                    for row in rows[index:]
                ]
                await connection.send(envelope_from, messages, done)
            except (aiosmtplib.SMTPException, OSError) as error:
                await self._disconnect()
                if not fresh and not reconnected:
                    # The server had closed the kept connection unnoticed: once more on a
                    # new one (a message it did take may be sent twice: at least once).
                    reconnected = True
                    continue
                reason = f"{type(error).__name__}: {error}"
                failed += [(row, reason) for row in rows[index:]]
                logger.warning("SMTP server unavailable (%s); %d e-mails wait", reason, len(failed))
                break
        if not keep_open:
            await self._disconnect()
        return Outcome(sent=sent, failed=failed)

    async def record(self, session: AsyncSession, outcome: Outcome) -> None:
        """In ``session``'s transaction: what was sent is gone, the rest waits for its
        next attempt."""
        table = table_of(EmailMessage)
        now = utcnow()
        if outcome.sent:
            await session.execute(delete(table).where(table.c.id.in_([r.id for r in outcome.sent])))
        for row, error in outcome.failed:
            self.handover.look_by(now + self.backoff.delay(row.attempts + 1))
            await session.execute(
                update(table)
                .where(table.c.id == row.id)
                .values(
                    attempts=row.attempts + 1,
                    next_attempt_at=now + self.backoff.delay(row.attempts + 1),
                    leased_until=None,
                    last_error=error[:MAX_ERROR_LENGTH],
                )
            )

    def count(self, outcome: Outcome) -> None:
        """The metrics, once the outcome is recorded."""
        self._sent.inc(len(outcome.sent))
        self._failed.inc(len(outcome.failed))

    async def send_all_due(self) -> int:
        total = 0
        while (sent := await self.send_due()) > 0:
            total += sent
        return total

    async def look(self, *, at_most: float) -> float:
        """At a poll, or when a retry is due: send what is due in the table (other
        replicas' messages, a crashed process's, retries); seconds until the next look."""
        if wait := self.handover.time_to_look():
            return wait
        while await self.send_due(keep_open=True) >= BATCH_SIZE:
            pass
        async with self.database.transaction(write=False) as session:
            delay = await seconds_until_due(session, table_of(EmailMessage), at_most=at_most)
        self.handover.looked(next_in_seconds=delay)
        return delay
