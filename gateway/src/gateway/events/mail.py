"""Sending e-mail: queued rows (``email_messages``) sent over SMTP by a background sender.

The intake writes a row per message in the transaction that takes the event in, then
wakes this process's sender; any replica's sender claims due rows with a lease, sends a
batch over one SMTP connection, deletes what the server accepted and puts the rest back
with exponential backoff. So when the SMTP server is down the request that caused the
message still succeeds, the message waits, and nothing is lost across a restart. The
messages the intake of this process queues are handed to its sender directly after the
commit (``kit.jobs.Handover``): sent without being claimed, the table looked at only at
the poll or when a retry is due.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.message
import email.utils
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiosmtplib
from sqlalchemy import delete, update

from gateway.config import GatewaySettings
from gateway.events.models import EmailMessage
from gateway.metrics import DELIVERIES_TOTAL
from kit.db import Database, table_of, utcnow
from kit.jobs import MAX_ERROR_LENGTH, Backoff, Handover, Loop, claim_due, seconds_until_due

logger = logging.getLogger("gateway.events.mail")

BATCH_SIZE = 50
LEASE = dt.timedelta(minutes=2)


def build_message(row: Any, *, sender: str) -> email.message.EmailMessage:
    """A multipart/alternative message: the plain text, then the HTML."""
    message = email.message.EmailMessage()
    message["From"] = sender
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = email.utils.format_datetime(utcnow())
    message["Message-ID"] = email.utils.make_msgid(idstring=row.id.hex, domain="smp.local")
    message.set_content(row.text)
    message.add_alternative(row.html, subtype="html")
    return message


class Mailer:
    """The e-mail sender of one gateway process (see module doc)."""

    def __init__(self, database: Database, settings: GatewaySettings) -> None:
        self.database = database
        self.settings = settings
        self.backoff = Backoff(settings.email_retry_base_seconds, settings.email_retry_max_seconds)
        self.loop = Loop(
            "gateway-email",
            self._round,
            poll_seconds=settings.sender_poll_seconds,
            linger_seconds=settings.sender_linger_seconds,
        )
        self._sent = DELIVERIES_TOTAL.labels("email", "delivered")
        self._failed = DELIVERIES_TOTAL.labels("email", "failed")
        self.handover = Handover(LEASE)

    @contextlib.asynccontextmanager
    async def running(self, *, enabled: bool = True) -> AsyncIterator[None]:
        """Send in the background for the duration of the block (the app's lifespan)."""
        if not enabled:
            yield
            return
        with self.handover.active():
            async with self.loop.running():
                yield

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

    async def send_due(self) -> int:
        """Send one batch of due messages; how many the server accepted."""
        table = table_of(EmailMessage)
        async with self.database.transaction() as session:
            rows = await claim_due(session, table, limit=BATCH_SIZE, lease=LEASE)
        if not rows:
            return 0
        return await self._send(rows)

    async def _send(self, rows: Sequence[Any]) -> int:
        """Send leased ``rows`` over one connection; how many the server accepted."""
        sent: list[Any] = []
        failed: list[tuple[Any, str]] = []
        try:
            async with self._client() as client:
                for row in rows:
                    try:
                        await client.send_message(
                            build_message(row, sender=self.settings.mail_from)
                        )
                        sent.append(row)
                    except aiosmtplib.SMTPRecipientsRefused as error:
                        failed.append((row, f"refused: {error}"))
        except (aiosmtplib.SMTPException, OSError) as error:
            done = {row.id for row in sent} | {row.id for row, _ in failed}
            reason = f"{type(error).__name__}: {error}"
            failed += [(row, reason) for row in rows if row.id not in done]
            logger.warning("SMTP server unavailable (%s); %d e-mails wait", reason, len(failed))
        await self._record(sent=sent, failed=failed)
        return len(sent)

    async def _record(self, *, sent: Sequence[Any], failed: Sequence[tuple[Any, str]]) -> None:
        table = table_of(EmailMessage)
        now = utcnow()
        async with self.database.transaction() as session:
            if sent:
                await session.execute(delete(table).where(table.c.id.in_([r.id for r in sent])))
            for row, error in failed:
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
        self._sent.inc(len(sent))
        self._failed.inc(len(failed))

    async def send_all_due(self) -> int:
        total = 0
        while (sent := await self.send_due()) > 0:
            total += sent
        return total

    async def _round(self) -> float:
        while rows := self.handover.take(BATCH_SIZE):
            await self._send(rows)
        if wait := self.handover.time_to_look():
            return wait
        while await self.send_due() >= BATCH_SIZE:
            pass
        async with self.database.transaction(write=False) as session:
            delay = await seconds_until_due(
                session, table_of(EmailMessage), at_most=self.loop.poll_seconds
            )
        self.handover.looked(next_in_seconds=delay)
        return delay
