"""What training holds about a person, for the privacy officer (through the gateway)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from kit.db import SessionDep
from kit.privacy import (
    ERASE_PATH,
    ERASED_PERSON_ID,
    PERSON_PATH,
    ErasureOutcome,
    GatewayOnlyDep,
    PersonalTable,
    delete_rows,
    rows_about,
)
from training.assignments.models import Assignment, ModuleProgress
from training.community.models import Reply, Thread
from training.modules.models import ScenarioAnswer
from training.policy.models import Acknowledgement
from training.quizzes.models import Attempt, QuestionResult
from training.remedial.models import RemedialAssignment

PERSONAL_TABLES = (
    PersonalTable("remedial_training", RemedialAssignment, "person_id"),
    PersonalTable("acknowledgements", Acknowledgement, "person_id"),
    PersonalTable("assignments", Assignment, "person_id"),
    PersonalTable("module_progress", ModuleProgress, "person_id"),
    PersonalTable("quiz_attempts", Attempt, "person_id"),
    PersonalTable("scenario_answers", ScenarioAnswer, "person_id"),
    PersonalTable("community_threads", Thread, "author_id"),
    PersonalTable("community_replies", Reply, "author_id"),
)

# Deleted by an erasure, children first; community posts are anonymised instead, so that
# other people's replies keep their thread.
ERASED_TABLES = tuple(t for t in PERSONAL_TABLES if t.model not in (Thread, Reply))
REMOVED_TEXT = "[removed: the author's data was erased]"

router = APIRouter(prefix="/api/v1/training", tags=["privacy"])


@router.get(PERSON_PATH)
async def person_data(
    person_id: uuid.UUID, session: SessionDep, caller: GatewayOnlyDep
) -> dict[str, Any]:
    """Everything training holds about a person (the gateway only, for a right-of-access
    export)."""
    return await rows_about(session, PERSONAL_TABLES, person_id=person_id)


@router.post(ERASE_PATH, response_model=ErasureOutcome)
async def erase_person(
    person_id: uuid.UUID, session: SessionDep, caller: GatewayOnlyDep
) -> ErasureOutcome:
    """Erase what training holds about a person (the gateway only, for the privacy
    officer): progress, attempts, acknowledgements deleted; community posts anonymised.
    Asking again erases nothing more."""
    return await erase(session, person_id=person_id)


async def erase(session: AsyncSession, *, person_id: uuid.UUID) -> ErasureOutcome:
    attempts = select(Attempt.id).where(col(Attempt.person_id) == person_id)
    results = await session.execute(
        delete(QuestionResult).where(col(QuestionResult.attempt_id).in_(attempts))
    )
    erased = {"question_results": int(getattr(results, "rowcount", 0) or 0)}
    erased.update(await delete_rows(session, ERASED_TABLES, person_id=person_id))
    for model, section in ((Reply, "community_replies"), (Thread, "community_threads")):
        values: dict[str, Any] = {"author_id": ERASED_PERSON_ID, "body": REMOVED_TEXT}
        if model is Thread:
            values["title"] = REMOVED_TEXT
        anonymised = await session.execute(
            update(model).where(col(model.author_id) == person_id).values(**values)
        )
        erased[section] = int(getattr(anonymised, "rowcount", 0) or 0)
    return ErasureOutcome(erased=erased)
