"""``Idempotency-Key`` for POSTs that create (DESIGN §4), exactly once across crashes.

* The first request with a key claims it: a row in the service's own database, in flight,
  with a token only this request knows and a short lease.
* The work, the key and the response are committed together: the transaction that does
  the work also seals the claim with the response it answers. So a process killed at any
  instant leaves either nothing but the claim (its lease ends and a retry does the work)
  or the work with its response (a retry gets that response back, marked
  ``Idempotent-Replayed: true``). Never the work without its response.

  - A route on the request's session (``kit.db.SessionDep``) is sealed for it: this
    middleware holds the request's transaction open until the response is built, seals
    the key in it, commits, and only then sends the response.
  - A route that manages its own transactions (incidents asks other services between
    them) seals in the transaction that records the work: ``sealed_json``.
* Only the holder of the claim can seal it: a request that outlived its lease and whose
  key a retry took over rolls its work back (409) instead of doing it a second time.
* The same key with a different method, path or body is a 422; while the first request
  is still running, a 409 with ``Retry-After``.
* Keys are scoped per principal and kept 24 h. A request that fails (any non-2xx)
  releases its key, so the client can fix and retry.

Because the claim is a committed row, this holds across any number of replicas.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy import (
    Column,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.db import TRANSACTION_OWNER, Database, UtcDateTime, utcnow
from kit.errors import BadRequest, Conflict, DomainError, Unprocessable, domain_error_response
from kit.failpoints import crash_point
from kit.identity import Caller

logger = logging.getLogger("kit.idempotency")

RETENTION = dt.timedelta(hours=24)
# A claim whose request has not finished after this long is taken to be abandoned (the
# process died mid-request) and may be claimed again. Short, because it is safe: a request
# that is only slow finds its claim taken over when it seals, and rolls its work back.
IN_FLIGHT_LEASE = dt.timedelta(seconds=10)
MAX_KEY_LENGTH = 255
# What kit.raises documents as the header's pattern.
KEY_REGEX = f"^[ -~]{{1,{MAX_KEY_LENGTH}}}$"
KEY_PATTERN = re.compile(KEY_REGEX)
HEADER = b"idempotency-key"
HELD_KEY = "kit_idempotency_key"
JSON_MEDIA_TYPE = "application/json"
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
        # The claiming request's token: only it may seal or release the key.
        Column("claim", String(36), nullable=True),
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
    token: str | None = None


class KeyTakenOver(Conflict):
    slug = "idempotency-key-taken-over"
    title = "A retry took this request over"


class HeldKey:
    """The key a running request holds (in the request's ``state``), and the request's
    transaction, which the middleware commits once the response is known
    (``kit.db.TransactionOwner``)."""

    def __init__(self, store: IdempotencyStore, *, principal: str, key: str, token: str) -> None:
        self.store = store
        self.principal = principal
        self.key = key
        self.token = token
        self.sealed = False
        self.session: AsyncSession | None = None
        self._transaction = contextlib.AsyncExitStack()

    async def open(
        self, transaction: contextlib.AbstractAsyncContextManager[AsyncSession]
    ) -> AsyncSession:
        if self.session is None:
            self.session = await self._transaction.enter_async_context(transaction)
        return self.session

    async def commit_with(self, response: StoredResponse) -> None:
        """The request succeeded: seal its key with ``response`` in its transaction (or on
        its own if it wrote nothing), then commit."""
        if self.session is None:
            if not self.sealed:
                await self.store.complete(held=self, response=response)
            return
        try:
            if not self.sealed:
                await self.store.seal(self.session, held=self, response=response)
        except BaseException:
            await self.roll_back()
            raise
        self.session = None
        await self._transaction.aclose()

    async def roll_back(self) -> None:
        if self.session is not None:
            self.session = None
            await self._transaction.__aexit__(_RolledBack, _RolledBack(), None)


class _RolledBack(Exception):
    """Thrown into the request's transaction to end it with a rollback."""


def held_key(request: Request) -> HeldKey | None:
    held = request.scope.get("state", {}).get(HELD_KEY)
    return held if isinstance(held, HeldKey) else None


async def sealed_json(
    request: Request,
    session: AsyncSession,
    model: BaseModel,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The response of a route that manages its own transactions, built in the transaction
    that records its work: with an ``Idempotency-Key`` the key is sealed with exactly these
    bytes there, so the work and its answer are committed together."""
    body = model.model_dump_json().encode()
    response = Response(
        body, status_code=status_code, headers=dict(headers or {}), media_type=JSON_MEDIA_TYPE
    )
    held = held_key(request)
    if held is not None:
        stored = StoredResponse(status_code, list(response.raw_headers), body)
        await held.store.seal(session, held=held, response=stored)
    return response


class IdempotencyStore:
    def __init__(self, database: Database, table: Table) -> None:
        self.database = database
        self.table = table
        # Built once: a keyed POST sends three of them (look, claim, seal), and building
        # them cost more than running them.
        c = table.c
        this_key = (c.principal == bindparam("of_principal")) & (c.key == bindparam("of_key"))
        stale = (c.expires_at < bindparam("now")) | (
            (c.state == "in_flight") & (c.created_at < bindparam("lease_start"))
        )
        self._find = select(table).where(this_key, ~stale)
        self._drop_stale = delete(table).where(this_key, stale)
        self._claim = insert(table)
        self._seal = (
            update(table)
            .where(this_key, c.claim == bindparam("token"), c.state == "in_flight")
            .values(
                state="done",
                status_code=bindparam("answer_status"),
                headers=bindparam("answer_headers"),
                body=bindparam("answer_body"),
            )
        )

    async def claim(self, *, principal: str, key: str, fingerprint: str) -> Claim:
        """Claim the key for a new request, or say why not (a replay, a mismatch, a
        request still in flight)."""
        # Look first without taking a write lock: on SQLite the first request holds the
        # write lock while it runs, and a duplicate must still get its 409 at once.
        existing = await self._existing(principal=principal, key=key, fingerprint=fingerprint)
        if existing is not None:
            return existing
        now = utcnow()
        token = str(uuid.uuid4())
        try:
            async with self.database.transaction() as session:
                await session.execute(self._drop_stale, _key_at(principal, key, now))
                await session.execute(
                    self._claim,
                    {
                        "principal": principal,
                        "key": key,
                        "fingerprint": fingerprint,
                        "state": "in_flight",
                        "claim": token,
                        "created_at": now,
                        "expires_at": now + RETENTION,
                    },
                )
            return Claim(ClaimOutcome.CLAIMED, token=token)
        except IntegrityError:
            # Another request claimed the key between our look and our insert.
            existing = await self._existing(principal=principal, key=key, fingerprint=fingerprint)
            return existing or Claim(ClaimOutcome.IN_FLIGHT)

    async def _existing(self, *, principal: str, key: str, fingerprint: str) -> Claim | None:
        async with self.database.transaction(write=False) as session:
            row = (
                await session.execute(self._find, _key_at(principal, key, utcnow()))
            ).one_or_none()
        if row is None:
            return None
        if row.fingerprint != fingerprint:
            return Claim(ClaimOutcome.MISMATCH)
        if row.state == "in_flight":
            return Claim(ClaimOutcome.IN_FLIGHT)
        headers = [(name.encode(), value.encode()) for name, value in json.loads(row.headers)]
        return Claim(ClaimOutcome.REPLAY, StoredResponse(row.status_code, headers, row.body))

    async def seal(self, session: AsyncSession, *, held: HeldKey, response: StoredResponse) -> None:
        """Store ``response`` as the key's answer in ``session``'s transaction, the one
        that does the work. Raises ``KeyTakenOver`` (the transaction must roll back) if
        the claim is no longer this request's."""
        headers = [
            (name.decode(), value.decode())
            for name, value in response.headers
            if name.lower() in _REPLAYED_HEADERS
        ]
        result = await session.execute(
            self._seal,
            {
                "of_principal": held.principal,
                "of_key": held.key,
                "token": held.token,
                "answer_status": response.status_code,
                "answer_headers": json.dumps(headers),
                "answer_body": response.body,
            },
        )
        if getattr(result, "rowcount", 0) != 1:
            raise KeyTakenOver(
                "This request ran past its Idempotency-Key's lease and a retry with the same "
                "key took it over; this one recorded nothing. The retry's answer stands."
            )
        held.sealed = True

    async def complete(self, *, held: HeldKey, response: StoredResponse) -> None:
        """Store the answer of a request that wrote nothing (there was no work to seal)."""
        async with self.database.transaction() as session:
            await self.seal(session, held=held, response=response)

    async def release(self, *, held: HeldKey) -> None:
        c = self.table.c
        async with self.database.transaction() as session:
            await session.execute(
                delete(self.table).where(
                    c.principal == held.principal, c.key == held.key, c.claim == held.token
                )
            )

    async def purge_expired(self) -> int:
        async with self.database.transaction() as session:
            result = await session.execute(
                delete(self.table).where(self.table.c.expires_at < utcnow())
            )
        return int(getattr(result, "rowcount", 0) or 0)


def _key_at(principal: str, key: str, now: dt.datetime) -> dict[str, object]:
    """The parameters of the statements on one key that tell a stale claim (an expired
    key, or a claim whose request died: see ``IN_FLIGHT_LEASE``) at ``now``."""
    return {
        "of_principal": principal,
        "of_key": key,
        "now": now,
        "lease_start": now - IN_FLIGHT_LEASE,
    }


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


def request_fingerprint(scope: Scope, body: bytes) -> str:
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
        await self.keyed(scope, receive, send, key=key, principal=caller.principal_key)

    async def keyed(
        self, scope: Scope, receive: Receive, send: Send, *, key: str, principal: str
    ) -> None:
        """A POST that carries ``key``, from ``principal``: claimed, replayed or refused."""
        try:
            await self._handle(scope, receive, send, key=key, principal=principal)
        except DomainError as error:
            await domain_error_response(error, instance=scope["path"])(scope, receive, send)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, *, key: str, principal: str
    ) -> None:
        if not KEY_PATTERN.fullmatch(key):
            raise BadRequest(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."
            )
        body = await _read_body(receive)
        claim = await self.store.claim(
            principal=principal, key=key, fingerprint=request_fingerprint(scope, body)
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
        assert claim.token is not None
        crash_point("idempotency.claimed")
        held = HeldKey(self.store, principal=principal, key=key, token=claim.token)
        await self._run_claimed(scope, body, send, held=held)

    async def _run_claimed(self, scope: Scope, body: bytes, send: Send, *, held: HeldKey) -> None:
        state = scope.setdefault("state", {})
        state[HELD_KEY] = held
        state[TRANSACTION_OWNER] = held
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
            response = captured.response()
            if not 200 <= response.status_code < 300:
                raise _Failed
            # Committed before the client sees it: a retry racing the response's delivery
            # already finds it, and a crash after the commit loses nothing.
            await held.commit_with(response)
        except _Failed:
            await self._give_up(held)
        except KeyTakenOver as error:
            await self._give_up(held)
            response = _stored_problem(error, instance=scope["path"])
        except BaseException:
            await self._give_up(held)
            raise
        crash_point("idempotency.committed")
        await _send_stored(send, response, replayed=False)

    async def _give_up(self, held: HeldKey) -> None:
        """The work is rolled back and the key released, so the client can retry."""
        try:
            await held.roll_back()
        finally:
            await self.store.release(held=held)


class _Failed(Exception):
    """The request answered a non-2xx: nothing of it is kept."""


def _stored_problem(error: DomainError, *, instance: str) -> StoredResponse:
    problem = domain_error_response(error, instance=instance)
    return StoredResponse(problem.status_code, list(problem.raw_headers), bytes(problem.body))


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
