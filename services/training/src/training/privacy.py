"""What training holds about a person, for the privacy officer (through the gateway)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from kit.db import SessionDep
from kit.privacy import PERSON_PATH, GatewayOnlyDep, PersonalTable, rows_about
from training.assignments.models import Assignment, ModuleProgress
from training.community.models import Reply, Thread
from training.modules.models import ScenarioAnswer
from training.policy.models import Acknowledgement
from training.quizzes.models import Attempt

PERSONAL_TABLES = (
    PersonalTable("acknowledgements", Acknowledgement, "person_id"),
    PersonalTable("assignments", Assignment, "person_id"),
    PersonalTable("module_progress", ModuleProgress, "person_id"),
    PersonalTable("quiz_attempts", Attempt, "person_id"),
    PersonalTable("scenario_answers", ScenarioAnswer, "person_id"),
    PersonalTable("community_threads", Thread, "author_id"),
    PersonalTable("community_replies", Reply, "author_id"),
)

router = APIRouter(prefix="/api/v1/training", tags=["privacy"])


@router.get(PERSON_PATH)
async def person_data(
    person_id: uuid.UUID, session: SessionDep, caller: GatewayOnlyDep
) -> dict[str, Any]:
    """Everything training holds about a person (the gateway only, for a right-of-access
    export)."""
    return await rows_about(session, PERSONAL_TABLES, person_id=person_id)
