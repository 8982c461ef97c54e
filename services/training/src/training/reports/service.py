"""Reports for HR and policy owners. Routes call these; nothing here knows about HTTP."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import ColumnElement, case, func
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from kit.db import utcnow
from training.assignments.models import Assignment
from training.assignments.schemas import ProgressStatus
from training.assignments.service import status_condition
from training.directory import DirectoryPerson
from training.modules.models import Module
from training.policy.models import Acknowledgement, PolicyVersion
from training.policy.renewal import latest_acknowledgements, status_of
from training.policy.schemas import AcknowledgementStatus
from training.quizzes.models import Attempt, Question, QuestionResult
from training.quizzes.service import quiz_of
from training.reports.schemas import (
    AcknowledgementReport,
    CompletionReport,
    DepartmentAcknowledgements,
    DepartmentCompletion,
    PersonAcknowledgement,
    QuestionReport,
    QuestionStatistics,
)


async def _statuses(
    session: AsyncSession, *, version: PolicyVersion, people: Sequence[DirectoryPerson]
) -> tuple[dict[uuid.UUID, Acknowledgement], dict[uuid.UUID, AcknowledgementStatus]]:
    """Each person's latest acknowledgement of ``version`` and their status by it now."""
    latest = await latest_acknowledgements(
        session, version=version, person_ids=[person.id for person in people]
    )
    now = utcnow()
    statuses = {person.id: status_of(version, latest.get(person.id), now) for person in people}
    return latest, statuses


async def acknowledgement_report(
    session: AsyncSession, *, version: PolicyVersion, people: Sequence[DirectoryPerson]
) -> AcknowledgementReport:
    """Counts per department of the active people given (from the directory)."""
    _, statuses = await _statuses(session, version=version, people=people)
    tallies: dict[str | None, Counter[AcknowledgementStatus]] = {}
    for person in people:
        tallies.setdefault(person.department, Counter())[statuses[person.id]] += 1
    departments = [
        DepartmentAcknowledgements(department=department, **_counts(tally))
        for department, tally in sorted(tallies.items(), key=lambda item: item[0] or "")
    ]
    total = _counts(sum(tallies.values(), Counter()))
    del total["people"]
    return AcknowledgementReport(
        version_id=version.id, version_number=version.number, departments=departments, **total
    )


def _counts(tally: Counter[AcknowledgementStatus]) -> dict[str, int]:
    # Not acknowledged counts as pending, whether the version asks for it or not.
    renewal_due = tally[AcknowledgementStatus.RENEWAL_DUE]
    acknowledged = tally[AcknowledgementStatus.ACKNOWLEDGED] + renewal_due
    overdue = tally[AcknowledgementStatus.OVERDUE]
    people = sum(tally.values())
    return {
        "people": people,
        "acknowledged": acknowledged,
        "renewal_due": renewal_due,
        "pending": people - acknowledged - overdue,
        "overdue": overdue,
    }


async def people_acknowledgements(
    session: AsyncSession, *, version: PolicyVersion, people: Sequence[DirectoryPerson]
) -> list[PersonAcknowledgement]:
    latest, statuses = await _statuses(session, version=version, people=people)
    return [
        PersonAcknowledgement(
            person_id=person.id,
            display_name=person.display_name,
            department=person.department,
            status=statuses[person.id],
            acknowledged_at=latest[person.id].acknowledged_at if person.id in latest else None,
            expires_at=latest[person.id].expires_at if person.id in latest else None,
        )
        for person in people
    ]


async def completion_report(
    session: AsyncSession, *, module_id: uuid.UUID | None
) -> CompletionReport:
    """Assignments by department (at the time of assignment) and status, in one query."""
    now = utcnow()

    def count(status: ProgressStatus) -> ColumnElement[int]:
        return func.sum(case((status_condition(status, now), 1), else_=0))

    # More columns than SQLModel's typed select takes, so SQLAlchemy's.
    statement = (
        core_select(
            col(Assignment.department),
            func.count(),
            *(count(status) for status in ProgressStatus),
        )
        .group_by(col(Assignment.department))
        .order_by(col(Assignment.department))
    )
    if module_id is not None:
        statement = statement.where(col(Assignment.module_id) == module_id)
    rows = (await session.execute(statement)).all()
    departments = []
    for department, assigned, *counts in rows:
        by_status = {status.value: n or 0 for status, n in zip(ProgressStatus, counts, strict=True)}
        departments.append(
            DepartmentCompletion(department=department, assigned=assigned, **by_status)
        )
    return CompletionReport(module_id=module_id, departments=departments)


async def question_report(session: AsyncSession, *, module: Module) -> QuestionReport:
    """How often each question of the module's quiz is missed, most missed first."""
    quiz = await quiz_of(session, module=module)
    questions = list(
        await session.scalars(select(Question).where(col(Question.quiz_id) == quiz.id))
    )
    tallies = {
        question_id: (answered, missed)
        for question_id, answered, missed in (
            await session.execute(
                select(
                    col(QuestionResult.question_id),
                    func.count(),
                    func.sum(case((col(QuestionResult.correct).is_(False), 1), else_=0)),
                )
                .where(col(QuestionResult.question_id).in_([q.id for q in questions]))
                .group_by(col(QuestionResult.question_id))
            )
        ).all()
    }
    submitted = await session.scalar(
        select(func.count())
        .select_from(Attempt)
        .where(col(Attempt.quiz_id) == quiz.id, col(Attempt.submitted_at).is_not(None))
    )
    statistics = []
    for question in questions:
        answered, missed = tallies.get(question.id, (0, 0))
        statistics.append(
            QuestionStatistics(
                question_id=question.id,
                position=question.position,
                prompt=question.prompt,
                clause_numbers=question.clause_numbers,
                answered=answered,
                missed=missed or 0,
                miss_rate=round((missed or 0) / answered, 4) if answered else 0.0,
            )
        )
    statistics.sort(key=lambda s: (-s.miss_rate, s.position))
    return QuestionReport(
        module_id=module.id, submitted_attempts=submitted or 0, questions=statistics
    )
