"""Candidate routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from coaching.candidates import service
from coaching.candidates.service import CandidateFilters
from coaching.deps import GatewayDep, SessionDep
from coaching.schemas import Candidate, CandidateReason
from kit.identity import Caller, Role, require_roles
from kit.pagination import Page, PageParamsDep

router = APIRouter(tags=["candidates"])

CandidateReader = Annotated[Caller, Depends(require_roles(Role.HR, Role.COACH))]


@router.get(
    "/candidates",
    response_model=Page[Candidate],
    responses={503: {"description": "Training could not answer for a page that needs it."}},
)
async def list_candidates(
    session: SessionDep,
    gateway: GatewayDep,
    caller: CandidateReader,
    page: PageParamsDep,
    reason: CandidateReason | None = None,
    department: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[Candidate]:
    """People who need guidance, each with the reason (HR and coaches): coaching's own
    proposed remedial engagements and self-nominations first, then training's signals (quiz
    failed at its attempt limit, training overdue). 503 if a page needs training and
    training is down; `reason=remedial_proposed` or `self_nomination` never needs it."""
    filters = CandidateFilters(reason=reason, department=department)
    items, next_cursor = await service.list_candidates(session, gateway, filters=filters, page=page)
    return Page(items=items, next_cursor=next_cursor)
