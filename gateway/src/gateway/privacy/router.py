"""The gateway's data-protection routes, under ``/api/v1/privacy`` (the privacy officer)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse

from gateway.privacy import exports
from gateway.privacy.render import to_html
from gateway.privacy.schemas import ExportCreate, ExportFormat, ExportRead
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
    background.add_task(
        exports.produce,
        state.database,
        export_id=export.id,
        upstreams=state.upstreams,
        signer=state.signer,
        ttl=dt.timedelta(hours=state.settings.export_ttl_hours),
    )
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
