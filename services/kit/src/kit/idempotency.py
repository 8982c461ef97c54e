"""``Idempotency-Key`` for POSTs that create (DESIGN §4).

* The first request with a key claims it (a row in the service's own database), runs,
  and its successful response is stored; a replay gets that response back, marked with
  ``Idempotent-Replayed: true``.
* The same key with a different method, path or body is a 422.
* The same key while the first request is still running is a 409 (retry shortly).
* Keys are scoped per principal and kept 24 h.
* A request that fails (any non-2xx) releases its key, so the client can fix and retry.

Because the claim is a committed row, this holds across any number of replicas.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.db import Database, UtcDateTime, utcnow
from kit.errors import BadRequest, Conflict, DomainError, Unprocessable, domain_error_response
from kit.identity import Caller

logger = logging.getLogger("kit.idempotency")

RETENTION = dt.timedelta(hours=24)
# A claim whose request has not finished after this long is taken to be abandoned
# (the process died mid-request) and may be claimed again.
IN_FLIGHT_LEASE = dt.timedelta(seconds=120)
MAX_KEY_LENGTH = 255
HEADER = b"idempotency-key"
_REPLAYED_HEADERS = frozenset({b"content-type", b"location", b"etag"})


def define_table(metadata: MetaData) -> Table:
    """The ``idempotency_keys`` table, declared in each service's own metadata."""
    return Table(
        "idempotency_keys",
        metadata,
        Column("principal", String(200), nullable=False),
        Column("key", String(MAX_KEY_LENGTH), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("state", String(16), nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("headers", Text, nullable=True),
        Column("body", LargeBinary, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
        Column("expires_at", UtcDateTime, nullable=False, index=True),
        PrimaryKeyConstraint("principal", "key"),
    )


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"
    REPLAY = "replay"
    MISMATCH = "mismatch"
    IN_FLIGHT = "in_flight"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: ClaimOutcome
    stored: StoredResponse | None = None


class IdempotencyStore:
    def __init__(self, database: Database, table: Table) -> None:
        self.database = database
        self.table = table

    async def claim(self, *, principal: str, key: str, fingerprint: str) -> Claim:
        # Look first without taking a write lock: on SQLite the first request holds the
        # write lock while it runs, and a duplicate must still get its 409 at once.
        existing = await self._existing(principal=principal, key=key, fingerprint=fingerprint)
        if existing is not None:
            return existing
        now = utcnow()
        try:
            async with self.database.transaction() as session:
                await session.execute(delete(self.table).where(self._stale(principal, key, now)))
                await session.execute(
                    insert(self.table).values(
                        principal=principal,
                        key=key,
                        fingerprint=fingerprint,
                        state="in_flight",
                        created_at=now,
                        expires_at=now + RETENTION,
                    )
                )
            return Claim(ClaimOutcome.CLAIMED)
        except IntegrityError:
            # Another request claimed the key between our look and our insert.
            existing = await self._existing(principal=principal, key=key, fingerprint=fingerprint)
            return existing or Claim(ClaimOutcome.IN_FLIGHT)

    def _stale(self, principal: str, key: str, now: dt.datetime) -> ColumnElement[bool]:
        """An expired key, or a claim whose request died (see ``IN_FLIGHT_LEASE``)."""
        c = self.table.c
        return (
            (c.principal == principal)
            & (c.key == key)
            & (
                (c.expires_at < now)
                | ((c.state == "in_flight") & (c.created_at < now - IN_FLIGHT_LEASE))
            )
        )

    async def _existing(self, *, principal: str, key: str, fingerprint: str) -> Claim | None:
        now = utcnow()
        async with self.database.transaction(write=False) as session:
            row = (
                await session.execute(
                    select(self.table).where(
                        self.table.c.principal == principal,
                        self.table.c.key == key,
                        ~self._stale(principal, key, now),
                    )
                )
            ).one_or_none()
        if row is None:
            return None
        if row.fingerprint != fingerprint:
            return Claim(ClaimOutcome.MISMATCH)
        if row.state == "in_flight":
            return Claim(ClaimOutcome.IN_FLIGHT)
        headers = [(name.encode(), value.encode()) for name, value in json.loads(row.headers)]
        return Claim(ClaimOutcome.REPLAY, StoredResponse(row.status_code, headers, row.body))

    async def complete(self, *, principal: str, key: str, response: StoredResponse) -> None:
        headers = [
            (name.decode(), value.decode())
            for name, value in response.headers
            if name.lower() in _REPLAYED_HEADERS
        ]
        async with self.database.transaction() as session:
            await session.execute(
                update(self.table)
                .where(self.table.c.principal == principal, self.table.c.key == key)
                .values(
                    state="done",
                    status_code=response.status_code,
                    headers=json.dumps(headers),
                    body=response.body,
                )
            )

    async def release(self, *, principal: str, key: str) -> None:
        async with self.database.transaction() as session:
            await session.execute(
                delete(self.table).where(
                    self.table.c.principal == principal, self.table.c.key == key
                )
            )

    async def purge_expired(self) -> int:
        async with self.database.transaction() as session:
            result = await session.execute(
                delete(self.table).where(self.table.c.expires_at < utcnow())
            )
        return int(getattr(result, "rowcount", 0) or 0)


def _header(scope: Scope, name: bytes) -> str | None:
    for header_name, value in scope.get("headers", ()):
        if header_name == name:
            return str(value.decode("latin-1"))
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(scope["method"].encode())
    digest.update(b"\0" + scope["path"].encode() + b"\0" + scope.get("query_string", b""))
    digest.update(b"\0" + body)
    return digest.hexdigest()


class IdempotencyMiddleware:
    """Must run after the internal-auth middleware: keys are scoped to the caller."""

    def __init__(self, app: ASGIApp, *, store: IdempotencyStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = (
            _header(scope, HEADER)
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        caller = scope.get("state", {}).get("caller")
        if key is None or not isinstance(caller, Caller):
            await self.app(scope, receive, send)
            return
        try:
            await self._handle(scope, receive, send, key=key, principal=caller.principal_key)
        except DomainError as error:
            await domain_error_response(error, instance=scope["path"])(scope, receive, send)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, *, key: str, principal: str
    ) -> None:
        if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.")
        body = await _read_body(receive)
        claim = await self.store.claim(
            principal=principal, key=key, fingerprint=_fingerprint(scope, body)
        )
        if claim.outcome is ClaimOutcome.MISMATCH:
            raise Unprocessable(
                "This Idempotency-Key was already used with a different request. "
                "Use a new key for a new request."
            )
        if claim.outcome is ClaimOutcome.IN_FLIGHT:
            raise Conflict(
                "A request with this Idempotency-Key is still being processed. Retry shortly.",
                headers={"Retry-After": "1"},
            )
        if claim.outcome is ClaimOutcome.REPLAY:
            assert claim.stored is not None
            await _send_stored(send, claim.stored, replayed=True)
            return
        await self._run_claimed(scope, body, send, key=key, principal=principal)

    async def _run_claimed(
        self, scope: Scope, body: bytes, send: Send, *, key: str, principal: str
    ) -> None:
        captured = _CapturedResponse()
        body_sent = False

        async def replay_body() -> Message:
            nonlocal body_sent
            if body_sent:
                return {"type": "http.disconnect"}
            body_sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            await self.app(scope, replay_body, captured.send)
        except BaseException:
            await self.store.release(principal=principal, key=key)
            raise
        response = captured.response()
        # Record the outcome before the client sees it, so a replay racing the first
        # response's delivery already finds it.
        if 200 <= response.status_code < 300:
            await self.store.complete(principal=principal, key=key, response=response)
        else:
            await self.store.release(principal=principal, key=key)
        await _send_stored(send, response, replayed=False)


class _CapturedResponse:
    def __init__(self) -> None:
        self.status_code = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status_code = message["status"]
            self.headers = list(message.get("headers", ()))
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    def response(self) -> StoredResponse:
        return StoredResponse(self.status_code, self.headers, b"".join(self.chunks))


async def _send_stored(send: Send, response: StoredResponse, *, replayed: bool) -> None:
    headers = [
        (name, value) for name, value in response.headers if name.lower() != b"content-length"
    ]
    headers.append((b"content-length", str(len(response.body)).encode()))
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": False})
