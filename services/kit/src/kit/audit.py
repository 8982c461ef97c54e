"""The access audit: an append-only, tamper-evident trail of who read or changed what.

Each app keeps its own trail in its own database (``AuditTrail(metadata)`` declares the
``audit_entries`` and ``audit_head`` tables). Every entry carries the hash of the entry
before it, so changing, removing or reordering a stored entry breaks the chain from there
on; ``audit_head`` holds the last sequence number and hash, so cutting entries off the end
breaks it too. :meth:`AuditTrail.verify` (``python -m <app> audit-verify``) walks the chain.

Appends are serialised on the head row (``FOR UPDATE`` on PostgreSQL; SQLite's one writer
holds the lock anyway), so the chain never forks. An entry is written in the transaction of
the request it records, so a read is answered if and only if its entry is stored: an
audited read route declares ``dependencies=[AUDITED_READ]``, which makes its session a
write transaction from the start (on SQLite a read cannot safely become a write half-way).

The API offers no way to change or delete an entry: only ``GET .../audit``, for the
privacy officer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from prometheus_client import Counter
from pydantic import BaseModel, Field
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    and_,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import WRITES_ON_READ, Database, UtcDateTime, utcnow
from kit.errors import Forbidden
from kit.fields import Timestamp
from kit.identity import Caller, CallerDep, Role
from kit.pagination import Page, PageParams, PageParamsDep, decode_cursor, encode_cursor

GENESIS = "0" * 64
HEAD_ID = 1
VERIFY_BATCH = 1000

AUDIT_ENTRIES = Counter(
    "smp_audit_entries_total", "Entries appended to this app's access audit.", ["app", "action"]
)


class AuditAction:
    """The actions the trail records (``<object>.<what>``)."""

    INCIDENT_READ = "incident.read"
    INCIDENT_TIMELINE_READ = "incident.timeline.read"
    INCIDENT_LISTED = "incident.listed"
    ENGAGEMENT_NOTES_READ = "engagement.notes.read"
    ENGAGEMENT_READ = "engagement.read"
    ENGAGEMENT_LISTED = "engagement.listed"
    EXPORT_READ = "export.read"
    ROLE_GRANTED = "role.granted"
    ROLE_REVOKED = "role.revoked"
    PERSON_ERASED = "person.erased"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What one entry says: who (``actor``, the principal; ``actor_person_id`` for a
    person), did what (``action``, ``detail``) to which object, concerning which person,
    through which route."""

    actor: str
    action: str
    object_type: str
    object_id: str
    route: str
    actor_person_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    detail: str | None = None
    request_id: str | None = None

    @classmethod
    def of(
        cls,
        caller: Caller,
        request: Request,
        *,
        action: str,
        object_type: str,
        object_id: uuid.UUID | str,
        person_id: uuid.UUID | None = None,
        detail: str | None = None,
    ) -> AuditRecord:
        return cls(
            actor=caller.principal_key,
            actor_person_id=caller.person_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            person_id=person_id,
            detail=detail,
            route=f"{request.method} {request.url.path}"[:300],
            request_id=caller.request_id,
        )


def entry_hash(seq: int, prev_hash: str, at: dt.datetime, record: AuditRecord) -> str:
    """SHA-256 over the entry's every field and the previous entry's hash."""
    fields = [
        seq,
        prev_hash,
        at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        record.actor,
        str(record.actor_person_id) if record.actor_person_id else None,
        record.action,
        record.object_type,
        record.object_id,
        str(record.person_id) if record.person_id else None,
        record.detail,
        record.route,
        record.request_id,
    ]
    text = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def define_tables(metadata: MetaData) -> tuple[Table, Table]:
    entries = Table(
        "audit_entries",
        metadata,
        Column("seq", BigInteger, nullable=False, autoincrement=False),
        Column("at", UtcDateTime, nullable=False),
        Column("actor", String(200), nullable=False),
        Column("actor_person_id", Uuid, nullable=True),
        Column("action", String(64), nullable=False),
        Column("object_type", String(32), nullable=False),
        Column("object_id", String(64), nullable=False),
        Column("person_id", Uuid, nullable=True),
        Column("detail", String(200), nullable=True),
        Column("route", String(300), nullable=False),
        Column("request_id", String(200), nullable=True),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
        PrimaryKeyConstraint("seq"),
        Index("ix_audit_entries_person_id_seq", "person_id", "seq"),
        Index("ix_audit_entries_actor_person_id_seq", "actor_person_id", "seq"),
        Index("ix_audit_entries_object_id_seq", "object_id", "seq"),
        Index("ix_audit_entries_at", "at"),
    )
    head = Table(
        "audit_head",
        metadata,
        Column("id", Integer, nullable=False, autoincrement=False),
        Column("seq", BigInteger, nullable=False),
        Column("hash", String(64), nullable=False),
        PrimaryKeyConstraint("id"),
    )
    return entries, head


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    checked: int
    broken_at: int | None = None
    problem: str | None = None

    def describe(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.checked} entries"
        return f"audit chain BROKEN at entry {self.broken_at}: {self.problem}"


@dataclass(frozen=True, slots=True)
class AuditFilters:
    person_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    object_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


class AuditTrail:
    """One app's trail: its two tables and how to append, query and verify."""

    def __init__(self, metadata: MetaData, *, app: str) -> None:
        self.entries, self.head = define_tables(metadata)
        self.app = app

    async def append(self, session: AsyncSession, record: AuditRecord) -> int:
        """Add ``record`` to the trail in ``session``'s transaction; its sequence number."""
        (seq,) = await self.append_many(session, [record])
        return seq

    async def append_many(self, session: AsyncSession, records: Sequence[AuditRecord]) -> list[int]:
        """Add ``records`` in order, chained one to the next, in ``session``'s transaction:
        one lock of the head and one insert however many (a list page's reads)."""
        if not records:
            return []
        seq, prev_hash = await self._lock_head(session)
        at = utcnow()
        rows: list[dict[str, Any]] = []
        for record in records:
            seq += 1
            digest = entry_hash(seq, prev_hash, at, record)
            rows.append(
                {
                    "seq": seq,
                    "at": at,
                    "actor": record.actor,
                    "actor_person_id": record.actor_person_id,
                    "action": record.action,
                    "object_type": record.object_type,
                    "object_id": record.object_id,
                    "person_id": record.person_id,
                    "detail": record.detail,
                    "route": record.route,
                    "request_id": record.request_id,
                    "prev_hash": prev_hash,
                    "hash": digest,
                }
            )
            prev_hash = digest
        await session.execute(insert(self.entries), rows)
        await session.execute(
            update(self.head).where(self.head.c.id == HEAD_ID).values(seq=seq, hash=prev_hash)
        )
        for record in records:
            AUDIT_ENTRIES.labels(self.app, record.action).inc()
        return [int(row["seq"]) for row in rows]

    async def _lock_head(self, session: AsyncSession) -> tuple[int, str]:
        statement = (
            select(self.head.c.seq, self.head.c.hash)
            .where(self.head.c.id == HEAD_ID)
            .with_for_update()
        )
        row = (await session.execute(statement)).first()
        if row is None:
            # The first entry ever: create the head (a concurrent first append may win).
            try:
                async with session.begin_nested():
                    await session.execute(insert(self.head).values(id=HEAD_ID, seq=0, hash=GENESIS))
            except IntegrityError:
                pass
            row = (await session.execute(statement)).one()
        return int(row.seq), str(row.hash)

    async def query(
        self, session: AsyncSession, *, filters: AuditFilters, page: PageParams
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Entries matching every filter given, oldest first (keyset on ``seq``)."""
        table = self.entries
        conditions: list[ColumnElement[bool]] = []
        if filters.person_id is not None:
            conditions.append(table.c.person_id == filters.person_id)
        if filters.actor_id is not None:
            conditions.append(table.c.actor_person_id == filters.actor_id)
        if filters.object_id is not None:
            conditions.append(table.c.object_id == filters.object_id)
        if filters.since is not None:
            conditions.append(table.c.at >= filters.since)
        if filters.until is not None:
            conditions.append(table.c.at < filters.until)
        if page.cursor:
            (after,) = decode_cursor(page.cursor, [table.c.seq])
            conditions.append(table.c.seq > literal(after, BigInteger))
        statement = (
            select(table).where(and_(True, *conditions)).order_by(table.c.seq).limit(page.limit + 1)
        )
        rows = [dict(row._mapping) for row in (await session.execute(statement)).all()]
        if len(rows) <= page.limit:
            return rows, None
        rows = rows[: page.limit]
        return rows, encode_cursor([rows[-1]["seq"]])

    async def verify(self, database: Database) -> Verification:
        """Walk the whole chain in order; the first entry that does not hold, if any."""
        expected_prev, expected_seq, checked = GENESIS, 1, 0
        async with database.transaction(write=False) as session:
            while True:
                batch = (
                    await session.execute(
                        select(self.entries)
                        .where(self.entries.c.seq >= expected_seq)
                        .order_by(self.entries.c.seq)
                        .limit(VERIFY_BATCH)
                    )
                ).all()
                for row in batch:
                    problem = _check_row(row._mapping, expected_seq, expected_prev)
                    if problem is not None:
                        return Verification(False, checked, expected_seq, problem)
                    expected_prev, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
                if len(batch) < VERIFY_BATCH:
                    break
            head = (
                await session.execute(select(self.head).where(self.head.c.id == HEAD_ID))
            ).first()
        head_seq, head_hash = (head.seq, head.hash) if head is not None else (0, GENESIS)
        if head_seq != checked or head_hash != expected_prev:
            return Verification(
                False,
                checked,
                checked + 1,
                f"the head says {head_seq} entries; entries after {checked} are missing",
            )
        return Verification(True, checked)


def _check_row(row: Any, expected_seq: int, expected_prev: str) -> str | None:
    if row["seq"] != expected_seq:
        return f"entry {expected_seq} is missing (the next stored one is {row['seq']})"
    if row["prev_hash"] != expected_prev:
        return "it does not name the hash of the entry before it"
    record = AuditRecord(
        actor=row["actor"],
        actor_person_id=row["actor_person_id"],
        action=row["action"],
        object_type=row["object_type"],
        object_id=row["object_id"],
        person_id=row["person_id"],
        detail=row["detail"],
        route=row["route"],
        request_id=row["request_id"],
    )
    if entry_hash(row["seq"], row["prev_hash"], row["at"], record) != row["hash"]:
        return "its content does not match its hash (changed after it was written)"
    return None


# -- the API ------------------------------------------------------------------------------


class AuditEntryRead(BaseModel):
    seq: int
    at: dt.datetime
    actor: str = Field(description="The principal: `user:<id>`, `service:<name>`, ...")
    actor_person_id: uuid.UUID | None
    action: str = Field(examples=[AuditAction.INCIDENT_READ])
    object_type: str
    object_id: str
    person_id: uuid.UUID | None = Field(description="The person the object is about.")
    detail: str | None = Field(description="E.g. the view an incident was read in.")
    route: str
    request_id: str | None
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditedObject:
    """One object a list page showed: what an entry of :meth:`Auditor.record_many` is about."""

    object_type: str
    object_id: uuid.UUID | str
    person_id: uuid.UUID | None = None
    detail: str | None = None


class Auditor:
    """What a route uses to audit: bound to the request's caller and route."""

    def __init__(self, request: Request, caller: Caller) -> None:
        self.request = request
        self.caller = caller
        self.trail: AuditTrail = request.app.state.audit_trail

    async def record(
        self,
        session: AsyncSession,
        action: str,
        *,
        object_type: str,
        object_id: uuid.UUID | str,
        person_id: uuid.UUID | None = None,
        detail: str | None = None,
    ) -> None:
        await self.trail.append(
            session,
            AuditRecord.of(
                self.caller,
                self.request,
                action=action,
                object_type=object_type,
                object_id=object_id,
                person_id=person_id,
                detail=detail,
            ),
        )

    async def record_many(
        self, session: AsyncSession, action: str, objects: Sequence[AuditedObject]
    ) -> None:
        """One entry per object (each read on a list page), appended at once."""
        await self.trail.append_many(
            session,
            [
                AuditRecord.of(
                    self.caller,
                    self.request,
                    action=action,
                    object_type=item.object_type,
                    object_id=item.object_id,
                    person_id=item.person_id,
                    detail=item.detail,
                )
                for item in objects
            ],
        )


async def auditor(request: Request, caller: CallerDep) -> Auditor:
    return Auditor(request, caller)


AuditorDep = Annotated[Auditor, Depends(auditor)]


async def _audited_read(request: Request) -> None:
    request.scope.setdefault("state", {})[WRITES_ON_READ] = True


# ``@router.get(..., dependencies=[AUDITED_READ])``: route dependencies are solved before the
# handler's, so the request's session is opened as a write transaction.
AUDITED_READ = Depends(_audited_read)


async def privacy_officer(caller: CallerDep) -> Caller:
    if not caller.has_role(Role.PRIVACY):
        raise Forbidden("Only the privacy officer reads the access audit.")
    return caller


PrivacyOfficerDep = Annotated[Caller, Depends(privacy_officer)]


async def audit_filters(
    person_id: Annotated[uuid.UUID | None, Query(description="Entries about this person.")] = None,
    actor_id: Annotated[uuid.UUID | None, Query(description="Entries by this person.")] = None,
    object_id: Annotated[
        str | None, Query(min_length=1, max_length=64, description="Entries about this object.")
    ] = None,
    since: Annotated[Timestamp | None, Query(description="At or after (with a timezone).")] = None,
    until: Annotated[Timestamp | None, Query(description="Before (with a timezone).")] = None,
) -> AuditFilters:
    return AuditFilters(
        person_id=person_id, actor_id=actor_id, object_id=object_id, since=since, until=until
    )


AuditFiltersDep = Annotated[AuditFilters, Depends(audit_filters)]


async def list_audit(
    request: Request, caller: PrivacyOfficerDep, filters: AuditFiltersDep, page: PageParamsDep
) -> Page[AuditEntryRead]:
    """This service's access audit, oldest first, filtered by person, actor, object and
    period (privacy officer). Append-only: no route changes or deletes an entry."""
    trail: AuditTrail = request.app.state.audit_trail
    database: Database = request.app.state.database
    async with database.transaction(write=False) as session:
        rows, next_cursor = await trail.query(session, filters=filters, page=page)
    return Page(items=[AuditEntryRead.model_validate(row) for row in rows], next_cursor=next_cursor)


def add_audit_route(router: APIRouter, path: str = "/audit") -> None:
    """``GET {prefix}/audit`` on an app's router."""
    router.add_api_route(
        path, list_audit, methods=["GET"], response_model=Page[AuditEntryRead], tags=["privacy"]
    )
