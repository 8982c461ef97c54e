"""Policy routes: parse, authorise, call the service, return."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from kit.concurrency import ETagged, IfMatch, check_if_match, set_etag
from kit.identity import CallerDep, UserDep
from kit.pagination import Page, PageParamsDep
from training.access import is_author
from training.deps import API_PREFIX, AuthorDep, SessionDep
from training.policy import service
from training.policy.schemas import (
    AcknowledgementCreate,
    AcknowledgementRead,
    MyAcknowledgement,
    PolicyVersionCreate,
    PolicyVersionRead,
    PolicyVersionSummary,
    PolicyVersionUpdate,
)

router = APIRouter(prefix=API_PREFIX, tags=["policy"])


@router.get("/policy", response_model=PolicyVersionRead)
async def get_current_policy(session: SessionDep, caller: CallerDep) -> PolicyVersionRead:
    """The current (published) social media policy with its numbered clauses."""
    return await service.current_policy(session)


@router.get("/policy/versions", response_model=Page[PolicyVersionSummary])
async def list_policy_versions(
    session: SessionDep, caller: CallerDep, page: PageParamsDep
) -> Page[PolicyVersionSummary]:
    """Versions of the policy, newest first (drafts only for policy owners)."""
    versions, next_cursor = await service.list_versions(
        session, page=page, include_drafts=is_author(caller)
    )
    return Page(
        items=[PolicyVersionSummary.model_validate(v) for v in versions], next_cursor=next_cursor
    )


@router.post(
    "/policy/versions",
    response_model=PolicyVersionRead,
    status_code=status.HTTP_201_CREATED,
)
async def create_policy_draft(
    data: PolicyVersionCreate, session: SessionDep, caller: AuthorDep, response: ETagged
) -> PolicyVersionRead:
    """Start a draft version of the policy (policy owners). Honours `Idempotency-Key`."""
    version = await service.create_draft(session, data=data)
    set_etag(response, version.version)
    return await service.read_version(session, version)


@router.get("/policy/versions/{version_id}", response_model=PolicyVersionRead)
async def get_policy_version(
    version_id: uuid.UUID, session: SessionDep, caller: CallerDep, response: ETagged
) -> PolicyVersionRead:
    """One version with its clauses; the `ETag` is what a draft's update needs."""
    version = await service.get_version(
        session, version_id=version_id, include_drafts=is_author(caller)
    )
    set_etag(response, version.version)
    return await service.read_version(session, version)


@router.patch(
    "/policy/versions/{version_id}",
    response_model=PolicyVersionRead,
    responses={409: {"description": "The version is no longer a draft."}},
)
async def update_policy_draft(
    version_id: uuid.UUID,
    data: PolicyVersionUpdate,
    session: SessionDep,
    caller: AuthorDep,
    response: ETagged,
    if_match: IfMatch,
) -> PolicyVersionRead:
    """Edit a draft (policy owners; `If-Match` required). `clauses` replaces the list."""
    version = await service.get_version(session, version_id=version_id, include_drafts=True)
    check_if_match(if_match, current_version=version.version)
    version = await service.update_draft(session, version=version, data=data)
    set_etag(response, version.version)
    return await service.read_version(session, version)


@router.post(
    "/policy/versions/{version_id}/publish",
    response_model=PolicyVersionRead,
    responses={409: {"description": "The version is not a draft."}},
)
async def publish_policy_version(
    version_id: uuid.UUID,
    session: SessionDep,
    caller: AuthorDep,
    response: ETagged,
    if_match: IfMatch,
) -> PolicyVersionRead:
    """Publish a draft (policy owners; `If-Match` required): it becomes the current
    version, the previous one is retired, and it never changes again."""
    version = await service.get_version(session, version_id=version_id, include_drafts=True)
    check_if_match(if_match, current_version=version.version)
    version = await service.publish(session, version=version)
    set_etag(response, version.version)
    return await service.read_version(session, version)


@router.post(
    "/policy/versions/{version_id}/retire",
    response_model=PolicyVersionRead,
    responses={409: {"description": "The version is not the published one."}},
)
async def retire_policy_version(
    version_id: uuid.UUID,
    session: SessionDep,
    caller: AuthorDep,
    response: ETagged,
    if_match: IfMatch,
) -> PolicyVersionRead:
    """Withdraw the published version without a successor (policy owners; `If-Match`)."""
    version = await service.get_version(session, version_id=version_id, include_drafts=True)
    check_if_match(if_match, current_version=version.version)
    version = await service.retire(session, version=version)
    set_etag(response, version.version)
    return await service.read_version(session, version)


@router.post(
    "/policy/acknowledgements",
    response_model=AcknowledgementRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "Already acknowledged: the first acknowledgement."},
        409: {"description": "The version is not the current one."},
    },
)
async def acknowledge_policy(
    data: AcknowledgementCreate, session: SessionDep, caller: UserDep, response: Response
) -> AcknowledgementRead:
    """Acknowledge the current policy version (201; 200 with the first one if repeated)."""
    assert caller.person_id is not None
    acknowledgement, created = await service.acknowledge(
        session, person_id=caller.person_id, version_id=data.version_id
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return AcknowledgementRead.model_validate(acknowledgement)


@router.get("/policy/acknowledgements/me", response_model=MyAcknowledgement)
async def get_my_acknowledgement(session: SessionDep, caller: UserDep) -> MyAcknowledgement:
    """Whether the signed-in person has acknowledged the current version."""
    assert caller.person_id is not None
    return await service.my_acknowledgement(session, person_id=caller.person_id)
