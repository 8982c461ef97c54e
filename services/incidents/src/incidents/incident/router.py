"""Incident routes: parse, authorise, call the service, return."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.decision import training
from incidents.decision.service import Recorded
from incidents.decision.upstream import UpstreamUnavailable
from incidents.deps import DatabaseDep, HrDep, OutsideDep, SessionDep, WorkerDep
from incidents.domain import Category, IncidentStatus, OwnerRole, Severity
from incidents.errors import TrainingUnavailable
from incidents.incident import present, service
from incidents.incident.access import View
from incidents.incident.models import Incident
from incidents.incident.schemas import (
    IncidentCreate,
    IncidentRead,
    IncidentSummary,
    IncidentUpdate,
    NoteCreate,
    OverrideCreate,
    RemedialModuleRead,
    TimelineEntryRead,
)
from incidents.incident.service import IncidentFilters, Seen
from kit.audit import AUDITED_READ, AuditAction, AuditedObject, Auditor, AuditorDep
from kit.concurrency import ETagged, IfMatch, Located, OptionalIfMatch, etag_of, set_etag
from kit.errors import Forbidden
from kit.idempotency import sealed_json
from kit.identity import Caller, UserDep
from kit.pagination import Page, PageParamsDep

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


async def _detail(
    session: SessionDep, caller: Caller, seen: Seen, response: Response
) -> IncidentRead:
    set_etag(response, seen.incident.version)
    return present.detail(caller, seen, await service.decisions_of(session, incident=seen.incident))


class _Answer:
    """The answer of a route that decides, built in the transaction that records the
    decision: with an ``Idempotency-Key`` it is sealed there with the work (see
    ``kit.idempotency``), so a crash can never keep the work and lose its answer."""

    def __init__(self, request: Request, caller: Caller, *, status_code: int) -> None:
        self.request = request
        self.caller = caller
        self.status_code = status_code
        self.response: Response | None = None

    async def __call__(
        self, session: AsyncSession, incident: Incident, recorded: Recorded | None = None
    ) -> None:
        if recorded is None:
            seen = await service.seen_incident(session, caller=self.caller, incident_id=incident.id)
            decisions = await service.decisions_of(session, incident=seen.incident)
        else:  # a new report: nothing to read back
            seen = service.seen_as_recorded(
                caller=self.caller, incident=incident, assignments=recorded.assignments
            )
            decisions = recorded.decisions
        detail = present.detail(self.caller, seen, decisions)
        headers = {"ETag": etag_of(seen.incident.version)}
        if self.status_code == status.HTTP_201_CREATED:
            headers["Location"] = f"/api/v1/incidents/{incident.id}"
        self.response = await sealed_json(
            self.request, session, detail, status_code=self.status_code, headers=headers
        )

    def given(self) -> Response:
        assert self.response is not None, "the decision was recorded without its answer"
        return self.response


@router.post(
    "",
    response_model=IncidentRead,
    status_code=status.HTTP_201_CREATED,
    responses={503: {"description": "The directory cannot be reached; nothing was recorded."}},
)
async def report_incident(
    data: IncidentCreate,
    request: Request,
    database: DatabaseDep,
    caller: UserDep,
    outside: OutsideDep,
    worker: WorkerDep,
    background: BackgroundTasks,
    _located: Located,  # documents the 201's Location and ETag, which _Answer sets
) -> Response:
    """Report an incident about a person; it is decided at once (or as soon as coaching
    history is available). Honours `Idempotency-Key`, exactly once even across a crash."""
    answer = _Answer(request, caller, status_code=status.HTTP_201_CREATED)
    await service.report(database, caller=caller, data=data, outside=outside, on_record=answer)
    background.add_task(worker.wake)
    return answer.given()


@router.get("", response_model=Page[IncidentSummary], dependencies=[AUDITED_READ])
async def list_incidents(
    session: SessionDep,
    caller: UserDep,
    page: PageParamsDep,
    auditor: AuditorDep,
    status_: Annotated[list[IncidentStatus], Query(alias="status")] = [],  # noqa: B006
    severity: Severity | None = None,
    category: Category | None = None,
    person_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    owner_role: OwnerRole | None = None,
    overdue: Annotated[
        bool | None, Query(description="Past the decision's deadline and not closed.")
    ] = None,
) -> Page[IncidentSummary]:
    """Incidents the caller may see (HR: all), newest first. Repeat `status` for several.
    Each incident listed in the full or assignee view is recorded in the access audit."""
    filters = IncidentFilters(
        statuses=status_,
        severity=severity,
        category=category,
        person_id=person_id,
        owner_id=owner_id,
        owner_role=owner_role,
        overdue=overdue,
    )
    rows, next_cursor = await service.list_incidents(
        session, caller=caller, filters=filters, page=page
    )
    await _audit_listed(session, auditor, rows)
    return Page(items=[present.summary(caller, seen) for seen in rows], next_cursor=next_cursor)


@router.get("/my-actions", response_model=Page[IncidentSummary], dependencies=[AUDITED_READ])
async def my_actions(
    session: SessionDep, caller: UserDep, page: PageParamsDep, auditor: AuditorDep
) -> Page[IncidentSummary]:
    """Decided or in-progress incidents the caller must act on (as a contact or owner, in
    person or through a role), the nearest deadline first. Each is recorded in the access
    audit, like the list."""
    rows, next_cursor = await service.my_actions(session, caller=caller, page=page)
    await _audit_listed(session, auditor, rows)
    return Page(items=[present.summary(caller, seen) for seen in rows], next_cursor=next_cursor)


# A list shows who an incident is about (and to HR who reported it): the views that show
# someone else's case are recorded; the person's and the reporter's own views are not.
LISTED_VIEWS_AUDITED = frozenset({View.FULL, View.ASSIGNEE})


async def _audit_listed(session: AsyncSession, auditor: Auditor, rows: list[Seen]) -> None:
    await auditor.record_many(
        session,
        AuditAction.INCIDENT_LISTED,
        [
            AuditedObject(
                object_type="incident",
                object_id=seen.incident.id,
                person_id=seen.incident.person_id,
                detail=f"{seen.view.value} view",
            )
            for seen in rows
            if seen.view in LISTED_VIEWS_AUDITED
        ],
    )


async def _audit(session: AsyncSession, auditor: Auditor, action: str, seen: Seen) -> None:
    await auditor.record(
        session,
        action,
        object_type="incident",
        object_id=seen.incident.id,
        person_id=seen.incident.person_id,
        detail=f"{seen.view.value} view",
    )


@router.get("/{incident_id}", response_model=IncidentRead, dependencies=[AUDITED_READ])
async def get_incident(
    incident_id: uuid.UUID,
    session: SessionDep,
    caller: UserDep,
    response: ETagged,
    auditor: AuditorDep,
) -> IncidentRead:
    """One incident as the caller may see it (`view` says how). Recorded in the access
    audit."""
    seen = await service.seen_incident(session, caller=caller, incident_id=incident_id)
    await _audit(session, auditor, AuditAction.INCIDENT_READ, seen)
    return await _detail(session, caller, seen, response)


@router.patch(
    "/{incident_id}",
    response_model=IncidentRead,
    responses={409: {"description": "Not a legal transition from the current status."}},
)
async def update_incident_status(
    incident_id: uuid.UUID,
    data: IncidentUpdate,
    session: SessionDep,
    caller: UserDep,
    response: ETagged,
    if_match: IfMatch,
) -> IncidentRead:
    """Move the incident along its lifecycle (`If-Match` required): the owner starts and
    resolves it; HR (or legal, when escalated) may also dismiss it."""
    seen = await service.seen_incident(session, caller=caller, incident_id=incident_id, lock=True)
    await service.change_status(session, caller=caller, seen=seen, data=data, if_match=if_match)
    return await _detail(session, caller, seen, response)


@router.post(
    "/{incident_id}/decision",
    response_model=IncidentRead,
    responses={
        409: {"description": "The incident is past deciding, or changed while deciding."},
        503: {"description": "Coaching or the directory cannot be reached now."},
    },
)
async def decide_incident_again(
    incident_id: uuid.UUID,
    request: Request,
    database: DatabaseDep,
    caller: HrDep,
    outside: OutsideDep,
    worker: WorkerDep,
    background: BackgroundTasks,
    if_match: OptionalIfMatch,
) -> Response:
    """Decide again with fresh facts and the policy published now (HR)."""
    answer = _Answer(request, caller, status_code=status.HTTP_200_OK)
    await service.decide_again(
        database,
        caller=caller,
        incident_id=incident_id,
        if_match=if_match,
        outside=outside,
        on_record=answer,
    )
    background.add_task(worker.wake)
    return answer.given()


@router.post(
    "/{incident_id}/override",
    response_model=IncidentRead,
    responses={409: {"description": "The incident is closed, or changed meanwhile."}},
)
async def override_decision(
    incident_id: uuid.UUID,
    data: OverrideCreate,
    request: Request,
    database: DatabaseDep,
    caller: HrDep,
    outside: OutsideDep,
    worker: WorkerDep,
    background: BackgroundTasks,
    if_match: IfMatch,
) -> Response:
    """Override the decision in force with a reason (HR; `If-Match` required). The
    policy's decision stays visible next to the override."""
    answer = _Answer(request, caller, status_code=status.HTTP_200_OK)
    await service.override(
        database,
        caller=caller,
        incident_id=incident_id,
        if_match=if_match,
        data=data,
        outside=outside,
        on_record=answer,
    )
    background.add_task(worker.wake)
    return answer.given()


@router.get(
    "/{incident_id}/timeline",
    response_model=Page[TimelineEntryRead],
    dependencies=[AUDITED_READ],
)
async def get_timeline(
    incident_id: uuid.UUID,
    session: SessionDep,
    caller: UserDep,
    page: PageParamsDep,
    auditor: AuditorDep,
) -> Page[TimelineEntryRead]:
    """Everything that happened to the incident, in order. Append-only: entries are never
    changed or deleted. Recorded in the access audit."""
    seen = await service.seen_incident(session, caller=caller, incident_id=incident_id)
    await _audit(session, auditor, AuditAction.INCIDENT_TIMELINE_READ, seen)
    entries, next_cursor = await service.timeline_of(session, seen=seen, page=page)
    return Page(
        items=[present.timeline_entry(caller, seen, entry) for entry in entries],
        next_cursor=next_cursor,
    )


@router.get("/{incident_id}/remedial-training", response_model=list[RemedialModuleRead])
async def get_remedial_training(
    incident_id: uuid.UUID, session: SessionDep, caller: UserDep, outside: OutsideDep
) -> list[RemedialModuleRead]:
    """The modules training assigned for the clauses the incident breached, with their
    status now (HR, owners and contacts, the person concerned; not the reporter)."""
    seen = await service.seen_incident(session, caller=caller, incident_id=incident_id)
    if seen.view is View.REPORTER:
        raise Forbidden("A reporter sees the incident's status, not the person's training.")
    try:
        items = await training.remedial_training(outside.gateway, incident_id=incident_id)
    except UpstreamUnavailable as error:
        raise TrainingUnavailable(
            "Training cannot be reached right now to say how the remedial modules stand; "
            "try again shortly."
        ) from error
    return [RemedialModuleRead.model_validate(item) for item in items]


@router.post(
    "/{incident_id}/timeline",
    response_model=TimelineEntryRead,
    status_code=status.HTTP_201_CREATED,
)
async def add_note(
    incident_id: uuid.UUID, data: NoteCreate, session: SessionDep, caller: UserDep
) -> TimelineEntryRead:
    """Add a note to the timeline (HR, legal when escalated, contacts and owners)."""
    seen = await service.seen_incident(session, caller=caller, incident_id=incident_id)
    entry = await service.add_note(session, caller=caller, seen=seen, text=data.text)
    return present.timeline_entry(caller, seen, entry)
