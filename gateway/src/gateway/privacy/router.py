"""The gateway's data-protection routes, under ``/api/v1/privacy`` (the privacy officer)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse

from gateway.privacy import erasure as erasure_service
from gateway.privacy import exports
from gateway.privacy.models import PrivacyErasure
from gateway.privacy.render import to_html
from gateway.privacy.schemas import (
    ErasureCreate,
    ErasureRead,
    ExportCreate,
    ExportFormat,
    ExportRead,
)
from kit.audit import AUDITED_READ, AuditAction, AuditorDep, PrivacyOfficerDep, add_audit_route
from kit.db import SessionDep
from kit.errors import domain_error_response

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])
add_audit_route(router)


@router.post("/exports", response_model=ExportRead, status_code=status.HTTP_202_ACCEPTED)
async def request_export(
    data: ExportCreate,
    request: Request,
    session: SessionDep,
    caller: PrivacyOfficerDep,
    background: BackgroundTasks,
    response: Response,
) -> ExportRead:
    """Ask for everything held about a person (right of access): gathered in the background
    from the directory and every service; poll the export for its progress."""
    export = await exports.request_export(session, caller=caller, person_id=data.person_id)
    state = request.app.state
    # After the commit (the session dependency ends before background tasks run).
    background.add_task(state.exporter.run, export.id)
    response.headers["Location"] = f"/api/v1/privacy/exports/{export.id}"
    return exports.read(export)


@router.get("/exports/{export_id}", response_model=ExportRead)
async def get_export(
    export_id: uuid.UUID, session: SessionDep, caller: PrivacyOfficerDep
) -> ExportRead:
    """An export's status and progress; when ready, its download link and until when it
    works."""
    return exports.read(await exports.get_export(session, export_id=export_id))


@router.get(
    "/exports/{export_id}/document",
    dependencies=[AUDITED_READ],
    responses={
        200: {"content": {"application/json": {}, "text/html": {}}},
        409: {"description": "Not ready yet."},
        410: {"description": "The link expired; the document is gone."},
    },
)
async def download_export(
    export_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    caller: PrivacyOfficerDep,
    auditor: AuditorDep,
    format_: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.JSON,
) -> Response:
    """The export's document, as JSON or a readable HTML page, until its link expires.
    Recorded in the access audit."""
    export = await exports.get_export(session, export_id=export_id)
    gone = await exports.wipe_if_expired(session, export=export)
    if gone is not None:
        # Answered, not raised: the wipe commits.
        return domain_error_response(gone, instance=request.url.path)
    document = exports.document_of(export)
    await auditor.record(
        session,
        AuditAction.EXPORT_READ,
        object_type="export",
        object_id=export.id,
        person_id=export.person_id,
        detail=format_.value,
    )
    if format_ is ExportFormat.HTML:
        return HTMLResponse(to_html(document))
    return JSONResponse(document)


@router.post("/erasures", response_model=ErasureRead, status_code=status.HTTP_202_ACCEPTED)
async def request_erasure(
    data: ErasureCreate,
    request: Request,
    session: SessionDep,
    caller: PrivacyOfficerDep,
    background: BackgroundTasks,
    response: Response,
) -> ErasureRead:
    """Erase a person: every service deletes or anonymises what it holds (keeping what is
    under legal hold or an open incident, and saying why), then the directory keeps only a
    tombstone. Carried out in the background, resumed after a crash; poll it."""
    erasure = await erasure_service.request_erasure(
        session, caller=caller, person_id=data.person_id, reason=data.reason
    )
    background.add_task(request.app.state.eraser.run_due)
    response.headers["Location"] = f"/api/v1/privacy/erasures/{erasure.id}"
    return _erasure(erasure)


@router.get("/erasures/{erasure_id}", response_model=ErasureRead)
async def get_erasure(
    erasure_id: uuid.UUID, session: SessionDep, caller: PrivacyOfficerDep
) -> ErasureRead:
    """An erasure's progress: the steps done, and per step what was erased and kept."""
    return _erasure(await erasure_service.get_erasure(session, erasure_id=erasure_id))


def _erasure(erasure: PrivacyErasure) -> ErasureRead:
    return ErasureRead(
        id=erasure.id,
        person_id=erasure.person_id,
        status=erasure.status,
        reason=erasure.reason,
        steps_done=[step for step in erasure_service.STEPS if step in erasure.outcomes],
        outcomes=erasure.outcomes,
        attempts=erasure.attempts,
        last_error=erasure.last_error,
        created_at=erasure.created_at,
        finished_at=erasure.finished_at,
    )
