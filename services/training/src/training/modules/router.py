"""Module routes: parse, authorise, call the service, return."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from kit.concurrency import ETagged, IfMatch, check_if_match, set_etag
from kit.identity import CallerDep, UserDep
from kit.pagination import Page, PageParamsDep
from training.access import is_author
from training.deps import API_PREFIX, AuthorDep, SessionDep
from training.modules import service
from training.modules.models import ModuleStatus
from training.modules.schemas import (
    ModuleCreate,
    ModuleProgressRead,
    ModuleRead,
    ModuleSummary,
    ModuleUpdate,
    RevisionCreate,
    ScenarioAnswerCreate,
    ScenarioFeedback,
)

router = APIRouter(prefix=API_PREFIX, tags=["modules"])

READER_STATUSES = (ModuleStatus.PUBLISHED,)


@router.get("/modules", response_model=Page[ModuleSummary])
async def list_modules(
    session: SessionDep,
    caller: CallerDep,
    page: PageParamsDep,
    status: Annotated[
        list[ModuleStatus] | None,
        Query(description="Policy owners: which statuses (default all). Others see published."),
    ] = None,
) -> Page[ModuleSummary]:
    """Training modules, oldest first."""
    statuses = (status or list(ModuleStatus)) if is_author(caller) else READER_STATUSES
    modules, next_cursor = await service.list_modules(session, page=page, statuses=statuses)
    return Page(items=[ModuleSummary.model_validate(m) for m in modules], next_cursor=next_cursor)


@router.post("/modules", response_model=ModuleRead, status_code=status.HTTP_201_CREATED)
async def create_module(
    data: ModuleCreate, session: SessionDep, caller: AuthorDep, response: ETagged
) -> ModuleRead:
    """Create a draft module with examples and what-if scenarios (policy owners).
    Honours `Idempotency-Key`."""
    module = await service.create_module(session, data=data, author_id=caller.person_id)
    set_etag(response, module.version)
    return await service.read_module(session, module, author_view=True)


@router.get("/modules/{module_id}", response_model=ModuleRead)
async def get_module(
    module_id: uuid.UUID, session: SessionDep, caller: CallerDep, response: ETagged
) -> ModuleRead:
    """A module with its examples and scenarios (scenario feedback only for authors:
    others get it by answering)."""
    author = is_author(caller)
    module = await service.get_module(session, module_id=module_id, include_drafts=author)
    set_etag(response, module.version)
    return await service.read_module(session, module, author_view=author)


@router.patch(
    "/modules/{module_id}",
    response_model=ModuleRead,
    responses={409: {"description": "The module is published and frozen."}},
)
async def update_module(
    module_id: uuid.UUID,
    data: ModuleUpdate,
    session: SessionDep,
    caller: AuthorDep,
    response: ETagged,
    if_match: IfMatch,
) -> ModuleRead:
    """Edit a draft module (policy owners; `If-Match` required)."""
    module = await service.get_module(session, module_id=module_id, include_drafts=True)
    check_if_match(if_match, current_version=module.version)
    module = await service.update_module(session, module=module, data=data)
    set_etag(response, module.version)
    return await service.read_module(session, module, author_view=True)


@router.post(
    "/modules/{module_id}/publish",
    response_model=ModuleRead,
    responses={409: {"description": "Not a draft, or its quiz has no questions."}},
)
async def publish_module(
    module_id: uuid.UUID,
    session: SessionDep,
    caller: AuthorDep,
    response: ETagged,
    if_match: IfMatch,
) -> ModuleRead:
    """Publish a draft (policy owners; `If-Match` required): it is frozen from now on and
    replaces the module's previous published version."""
    module = await service.get_module(session, module_id=module_id, include_drafts=True)
    check_if_match(if_match, current_version=module.version)
    module = await service.publish_module(session, module=module)
    set_etag(response, module.version)
    return await service.read_module(session, module, author_view=True)


@router.post(
    "/modules/{module_id}/revisions",
    response_model=ModuleRead,
    status_code=status.HTTP_201_CREATED,
)
async def revise_module(
    module_id: uuid.UUID,
    data: RevisionCreate,
    session: SessionDep,
    caller: AuthorDep,
    response: ETagged,
) -> ModuleRead:
    """Start a new draft version of a published module, copying its content and quiz; say
    whether the change is material (what publishing it does to assignments)."""
    module = await service.get_module(session, module_id=module_id, include_drafts=True)
    draft = await service.revise_module(
        session, module=module, data=data, author_id=caller.person_id
    )
    set_etag(response, draft.version)
    return await service.read_module(session, draft, author_view=True)


@router.post("/modules/{module_id}/read", response_model=ModuleProgressRead)
async def mark_module_read(
    module_id: uuid.UUID, session: SessionDep, caller: UserDep
) -> ModuleProgressRead:
    """Record that the signed-in person read the module (this completes a module that
    has no quiz)."""
    assert caller.person_id is not None
    module = await service.get_module(session, module_id=module_id, include_drafts=False)
    progress = await service.mark_read(session, module=module, person_id=caller.person_id)
    return ModuleProgressRead.model_validate(progress)


@router.post(
    "/modules/{module_id}/scenarios/{scenario_id}/answers",
    response_model=ScenarioFeedback,
    status_code=status.HTTP_201_CREATED,
)
async def answer_scenario(
    module_id: uuid.UUID,
    scenario_id: uuid.UUID,
    data: ScenarioAnswerCreate,
    session: SessionDep,
    caller: UserDep,
) -> ScenarioFeedback:
    """Answer a what-if scenario: the feedback on the chosen option and the recommended
    response. The answer is recorded."""
    assert caller.person_id is not None
    module = await service.get_module(session, module_id=module_id, include_drafts=False)
    return await service.answer_scenario(
        session,
        module=module,
        scenario_id=scenario_id,
        person_id=caller.person_id,
        option_key=data.option_key,
    )
