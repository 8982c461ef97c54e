"""Report routes: parse, authorise, call the service, return. Per-person progress is
``GET /people/{person_id}/progress`` (assignments)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from kit.db import utcnow
from kit.pagination import Page, PageParamsDep
from training.deps import API_PREFIX, DirectoryDep, ReportReaderDep, SessionDep
from training.modules.service import get_module
from training.policy.service import current_version
from training.reports import effect, service
from training.reports.schemas import (
    AcknowledgementReport,
    CompletionReport,
    EffectReport,
    PersonAcknowledgement,
    QuestionReport,
)

router = APIRouter(prefix=API_PREFIX, tags=["reports"])

DepartmentQuery = Annotated[str | None, Query(max_length=200, description="Only this department.")]


@router.get("/reports/acknowledgements", response_model=AcknowledgementReport)
async def acknowledgement_report(
    session: SessionDep,
    caller: ReportReaderDep,
    directory: DirectoryDep,
    department: DepartmentQuery = None,
) -> AcknowledgementReport:
    """How many active people have acknowledged the current policy version, by department
    (HR, policy owners)."""
    version = await current_version(session)
    people = await directory.people(department=department)
    return await service.acknowledgement_report(session, version=version, people=people)


@router.get("/reports/acknowledgements/people", response_model=Page[PersonAcknowledgement])
async def people_acknowledgements(
    session: SessionDep,
    caller: ReportReaderDep,
    directory: DirectoryDep,
    page: PageParamsDep,
    department: DepartmentQuery = None,
) -> Page[PersonAcknowledgement]:
    """Who has and has not acknowledged the current version: active people in the
    directory's order, one page at a time (HR, policy owners)."""
    version = await current_version(session)
    people, next_cursor = await directory.people_page(
        department=department, limit=page.limit, cursor=page.cursor
    )
    items = await service.people_acknowledgements(session, version=version, people=people)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/reports/completion", response_model=CompletionReport)
async def completion_report(
    session: SessionDep, caller: ReportReaderDep, module_id: uuid.UUID | None = None
) -> CompletionReport:
    """Assignments by department: completed, in progress, not started, overdue (HR,
    policy owners)."""
    return await service.completion_report(session, module_id=module_id)


@router.get("/reports/modules/{module_id}/questions", response_model=QuestionReport)
async def question_report(
    module_id: uuid.UUID, session: SessionDep, caller: ReportReaderDep
) -> QuestionReport:
    """How often each quiz question is missed, most missed first (HR, policy owners)."""
    module = await get_module(session, module_id=module_id, include_drafts=True)
    return await service.question_report(session, module=module)


QuartersQuery = Annotated[
    int, Query(ge=1, le=12, description="How many calendar quarters, the current one last.")
]


async def _effect(
    request: Request, session: SessionDep, directory: DirectoryDep, quarters: int
) -> EffectReport:
    return await effect.effect_report(
        session,
        gateway=request.app.state.gateway,
        directory=directory,
        quarters=quarters,
        now=utcnow(),
    )


@router.get("/reports/effect", response_model=EffectReport)
async def effect_report(
    request: Request,
    session: SessionDep,
    caller: ReportReaderDep,
    directory: DirectoryDep,
    quarters: QuartersQuery = 4,
) -> EffectReport:
    """The programme's effect: incidents per 100 people per quarter by training status and
    by department, repeat incidents after completed remedial coaching or without, and the
    time from incident to completed remedial training (HR, policy owners, `reports:read`).
    503 if incidents or coaching cannot answer."""
    return await _effect(request, session, directory, quarters)


@router.get(
    "/reports/effect.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The same figures as CSV."}},
)
async def effect_report_csv(
    request: Request,
    session: SessionDep,
    caller: ReportReaderDep,
    directory: DirectoryDep,
    quarters: QuartersQuery = 4,
) -> Response:
    """The programme-effect report as CSV, one figure per row (same readers)."""
    report = await _effect(request, session, directory, quarters)
    return Response(
        effect.to_csv(report),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="programme-effect.csv"'},
    )
