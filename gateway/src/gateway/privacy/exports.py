"""Right-of-access exports: the gateway gathers what it and each service hold about a
person, part by part, into one document.

A request only records the export (``pending``); the gathering runs in the background,
leased (``kit.jobs``), and records each part as it comes (the directory, then training,
coaching, incidents) with the progress, each in a transaction of its own, so a caller
polling the export sees it move, and a gateway killed mid-way leaves the parts it gathered:
when the lease ends any gateway's privacy loop takes the export over and asks only for the
parts still missing. Each service serves its part to the gateway's own service principal
only. A failed part fails the export with the reason (and drops the parts gathered); the
privacy officer requests a new one.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from gateway.errors import PersonNotFound
from gateway.models import Group, GroupMember, Person, PersonEmail
from gateway.privacy.models import ExportStatus, PrivacyExport
from gateway.privacy.schemas import ExportRead
from gateway.proxy import Upstream, UpstreamError
from kit.db import Database, table_of, utcnow
from kit.errors import Conflict, DomainError, NotFound
from kit.failpoints import crash_point
from kit.identity import Caller, InternalTokenSigner, PrincipalKind
from kit.jobs import claim_due, seconds_until_due
from kit.privacy import PERSON_PATH

logger = logging.getLogger("gateway.privacy")

SERVICES = ("training", "coaching", "incidents")
PARTS_TOTAL = 1 + len(SERVICES)
LEASE = dt.timedelta(seconds=60)
BATCH = 10
UNFINISHED = table_of(PrivacyExport).c.status.in_(
    [ExportStatus.PENDING.value, ExportStatus.RUNNING.value]
)


class ExportNotFound(NotFound):
    slug = "export-not-found"
    title = "Export not found"


class ExportNotReady(Conflict):
    slug = "export-not-ready"
    title = "Export not ready"


class ExportExpired(DomainError):
    status = 410
    slug = "export-expired"
    title = "Export expired"


async def request_export(
    session: AsyncSession, *, caller: Caller, person_id: uuid.UUID
) -> PrivacyExport:
    if await session.get(Person, person_id) is None:
        raise PersonNotFound(f"There is no person {person_id} in the directory.")
    export = PrivacyExport(
        person_id=person_id, requested_by=caller.principal_key, parts_total=PARTS_TOTAL
    )
    session.add(export)
    await session.flush()
    return export


async def get_export(session: AsyncSession, *, export_id: uuid.UUID) -> PrivacyExport:
    export = await session.get(PrivacyExport, export_id)
    if export is None:
        raise ExportNotFound(f"There is no export {export_id}.")
    return export


def read(export: PrivacyExport) -> ExportRead:
    status = ExportStatus.EXPIRED if expired(export) else export.status
    ready = status is ExportStatus.READY
    return ExportRead(
        id=export.id,
        person_id=export.person_id,
        status=status,
        parts_done=export.parts_done,
        parts_total=export.parts_total,
        progress_percent=export.parts_done * 100 // max(export.parts_total, 1),
        created_at=export.created_at,
        finished_at=export.finished_at,
        expires_at=export.expires_at,
        download_url=f"/api/v1/privacy/exports/{export.id}/document" if ready else None,
        error=export.error,
    )


def expired(export: PrivacyExport) -> bool:
    expires_at = export.expires_at
    return export.status is ExportStatus.EXPIRED or (
        export.status is ExportStatus.READY and expires_at is not None and utcnow() >= expires_at
    )


async def wipe_if_expired(session: AsyncSession, *, export: PrivacyExport) -> ExportExpired | None:
    """Past ``expires_at`` the document is wiped; the refusal to answer (410), if it is."""
    if not expired(export):
        return None
    if export.document is not None:
        export.status, export.document = ExportStatus.EXPIRED, None
        session.add(export)
        await session.flush()
    return ExportExpired(
        f"The download link of export {export.id} expired at {export.expires_at}; "
        "request a new export."
    )


def document_of(export: PrivacyExport) -> dict[str, Any]:
    if export.status is not ExportStatus.READY or export.document is None:
        raise ExportNotReady(
            f"Export {export.id} is {export.status.value} ({read(export).progress_percent} %); "
            f"poll GET /api/v1/privacy/exports/{export.id} until it is ready."
        )
    return export.document


class Exporter:
    """Gathers exports: the one just requested (from the request's background task) and,
    in the privacy loop, any left unfinished by a gateway that died (its lease ended)."""

    def __init__(
        self,
        database: Database,
        *,
        upstreams: Mapping[str, Upstream],
        signer: InternalTokenSigner,
        ttl: dt.timedelta,
        lease: dt.timedelta = LEASE,
    ) -> None:
        self.database = database
        self.upstreams = upstreams
        self.signer = signer
        self.ttl = ttl
        self.lease = lease

    async def run(self, export_id: uuid.UUID) -> None:
        """Gather one export now, unless another gateway holds it."""
        table = table_of(PrivacyExport)
        async with self.database.transaction() as session:
            claimed = await claim_due(
                session,
                table,
                limit=1,
                lease=self.lease,
                where=[UNFINISHED, table.c.id == export_id],
            )
        if claimed:
            await self._gather(export_id)

    async def run_due(self) -> float:
        """One round: every unfinished export no gateway holds. Seconds until the next."""
        table = table_of(PrivacyExport)
        async with self.database.transaction() as session:
            claimed = await claim_due(
                session, table, limit=BATCH, lease=self.lease, where=[UNFINISHED]
            )
        for row in claimed:
            await self._gather(row.id)
        async with self.database.transaction(write=False) as session:
            return await seconds_until_due(session, table, at_most=30.0, where=[UNFINISHED])

    async def _gather(self, export_id: uuid.UUID) -> None:
        """Gather the parts not gathered yet, recording each (and the progress) as it comes."""
        async with self.database.transaction() as session:
            export = await get_export(session, export_id=export_id)
            export.status = ExportStatus.RUNNING
            person_id = export.person_id
            document: dict[str, Any] = dict(export.document or {})
            if "directory" not in document:
                document = {
                    "person_id": str(person_id),
                    "generated_at": utcnow().isoformat(),
                    "directory": await _directory_part(session, person_id=person_id),
                }
                export.document, export.parts_done = document, 1
            session.add(export)
        crash_point("export.after_directory")
        for name in SERVICES:
            if name in document:
                continue
            try:
                part = await _service_part(self.upstreams[name], self.signer, person_id=person_id)
            except (UpstreamError, KeyError) as exc:
                logger.warning(
                    "export failed", extra={"export_id": str(export_id), "error": str(exc)}
                )
                await _finish(
                    database=self.database,
                    export_id=export_id,
                    error=f"the {name} service could not be asked: {exc}"[:500],
                )
                return
            document[name] = part
            await self._record(export_id, document)
            crash_point(f"export.after_{name}")
        await _finish(database=self.database, export_id=export_id, document=document, ttl=self.ttl)

    async def _record(self, export_id: uuid.UUID, document: dict[str, Any]) -> None:
        async with self.database.transaction() as session:
            export = await get_export(session, export_id=export_id)
            export.document = dict(document)
            export.parts_done = 1 + sum(1 for name in SERVICES if name in document)
            session.add(export)


async def _directory_part(session: AsyncSession, *, person_id: uuid.UUID) -> dict[str, Any]:
    person = await session.get(Person, person_id)
    groups = await session.scalars(
        select(Group.display_name)
        .join(GroupMember, col(GroupMember.group_id) == col(Group.id))
        .where(col(GroupMember.person_id) == person_id)
        .order_by(col(Group.display_name))
    )
    emails = await session.scalars(
        select(PersonEmail)
        .where(col(PersonEmail.person_id) == person_id)
        .order_by(col(PersonEmail.position))
    )
    return {
        "person": to_jsonable_python(person.model_dump()) if person is not None else None,
        "groups": list(groups),
        "emails": [
            {"value": e.value, "type": e.type, "primary": e.primary, "display": e.display}
            for e in emails
        ],
    }


async def _service_part(
    upstream: Upstream, signer: InternalTokenSigner, *, person_id: uuid.UUID
) -> Any:
    token = signer.sign(
        audience=upstream.name, subject="service:gateway", kind=PrincipalKind.SERVICE
    )
    path = f"/api/v1/{upstream.name}{PERSON_PATH.format(person_id=person_id)}"
    return await upstream.fetch_json(path, headers={"Authorization": f"Bearer {token}"})


async def _finish(
    *,
    database: Database,
    export_id: uuid.UUID,
    document: dict[str, Any] | None = None,
    ttl: dt.timedelta | None = None,
    error: str | None = None,
) -> None:
    async with database.transaction() as session:
        export = await get_export(session, export_id=export_id)
        export.finished_at = utcnow()
        export.leased_until = None
        if error is not None:
            # The parts gathered so far go too: a failed export holds nothing.
            export.status, export.error, export.document = ExportStatus.FAILED, error, None
        else:
            assert ttl is not None
            export.status, export.document = ExportStatus.READY, document
            export.expires_at = export.finished_at + ttl
        session.add(export)
