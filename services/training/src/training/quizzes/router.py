"""Quiz and attempt routes: parse, authorise, call the service, return."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, status

from kit.concurrency import ETagged, IfMatch, check_if_match, set_etag
from kit.errors import Forbidden
from kit.identity import CallerDep, UserDep
from training.access import is_author, may_read_answer_key
from training.deps import API_PREFIX, QuizAuthorDep, SessionDep, SettingsDep
from training.modules.service import get_module
from training.quizzes import service
from training.quizzes.schemas import (
    AttemptRead,
    QuizAuthorRead,
    QuizIn,
    QuizRead,
    SubmissionIn,
)

router = APIRouter(prefix=API_PREFIX, tags=["quizzes"])


@router.put(
    "/modules/{module_id}/quiz",
    response_model=QuizAuthorRead,
    responses={409: {"description": "The module is published and frozen."}},
)
async def put_quiz(
    module_id: uuid.UUID,
    data: QuizIn,
    session: SessionDep,
    caller: QuizAuthorDep,
    response: ETagged,
    if_match: IfMatch,
) -> QuizAuthorRead:
    """Set or replace a draft module's quiz (policy owners; `If-Match` with the module's
    ETag). The response includes the answer key; the module's new ETag is returned."""
    module = await get_module(session, module_id=module_id, include_drafts=True)
    check_if_match(if_match, current_version=module.version)
    quiz = await service.put_quiz(session, module=module, data=data)
    set_etag(response, module.version)
    return await service.author_view(session, quiz=quiz)


@router.delete(
    "/modules/{module_id}/quiz",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={409: {"description": "The module is published and frozen."}},
)
async def delete_quiz(
    module_id: uuid.UUID,
    session: SessionDep,
    caller: QuizAuthorDep,
    response: ETagged,
    if_match: IfMatch,
) -> None:
    """Remove a draft module's quiz (policy owners; `If-Match` with the module's ETag)."""
    module = await get_module(session, module_id=module_id, include_drafts=True)
    check_if_match(if_match, current_version=module.version)
    await service.remove_quiz(session, module=module)
    set_etag(response, module.version)


@router.get(
    "/modules/{module_id}/quiz",
    response_model=QuizAuthorRead | QuizRead,
)
async def get_quiz(
    module_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> QuizAuthorRead | QuizRead:
    """The quiz's rules and the caller's standing (attempts used and left, passed).
    Policy owners (only they) get the questions with the answer key instead."""
    module = await get_module(session, module_id=module_id, include_drafts=is_author(caller))
    quiz = await service.quiz_of(session, module=module)
    if may_read_answer_key(caller):
        return await service.author_view(session, quiz=quiz)
    if caller.person_id is None:
        raise Forbidden("A quiz's standing is read by the person taking it.")
    return await service.learner_view(session, quiz=quiz, person_id=caller.person_id)


@router.post(
    "/modules/{module_id}/quiz/attempts",
    response_model=AttemptRead,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "Already passed, an attempt is open, or none left."}},
)
async def start_attempt(module_id: uuid.UUID, session: SessionDep, caller: UserDep) -> AttemptRead:
    """Start an attempt: the questions in this attempt's own order, without answers."""
    assert caller.person_id is not None
    module = await get_module(session, module_id=module_id, include_drafts=False)
    attempt = await service.start_attempt(session, module=module, person_id=caller.person_id)
    return await service.read_attempt(session, attempt=attempt)


@router.get("/attempts/{attempt_id}", response_model=AttemptRead)
async def get_attempt(attempt_id: uuid.UUID, session: SessionDep, caller: UserDep) -> AttemptRead:
    """One of the signed-in person's attempts; once submitted, with the result and the
    review the quiz's rule allows."""
    assert caller.person_id is not None
    attempt = await service.get_attempt(session, attempt_id=attempt_id, person_id=caller.person_id)
    return await service.read_attempt(session, attempt=attempt)


@router.post(
    "/attempts/{attempt_id}/submit",
    response_model=AttemptRead,
    responses={409: {"description": "Already submitted, or the time limit passed."}},
)
async def submit_attempt(
    attempt_id: uuid.UUID,
    data: SubmissionIn,
    session: SessionDep,
    caller: UserDep,
    settings: SettingsDep,
) -> AttemptRead:
    """Submit the answers: graded on the server once; the result and the review the
    quiz's rule allows."""
    assert caller.person_id is not None
    attempt = await service.get_attempt(session, attempt_id=attempt_id, person_id=caller.person_id)
    attempt = await service.submit_attempt(
        session,
        attempt=attempt,
        answers=data.answers,
        grace=dt.timedelta(seconds=settings.quiz_submit_grace_seconds),
    )
    return await service.read_attempt(session, attempt=attempt)
