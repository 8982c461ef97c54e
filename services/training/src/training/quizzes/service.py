"""Quizzes and attempts. Routes call these; nothing here knows about HTTP.

Grading happens only here; the answer key is read into ``KeyedQuestion`` and leaves only
through ``ReviewItem`` when the review rule allows.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from kit.db import flush_unless_duplicate, utcnow
from training.assignments.service import current_cycle, record_progress
from training.errors import (
    AttemptAlreadySubmitted,
    AttemptInProgress,
    AttemptLimitReached,
    AttemptNotFound,
    InvalidAnswers,
    QuizAlreadyPassed,
    QuizNotFound,
    TimeLimitExceeded,
)
from training.modules.models import Module
from training.modules.service import check_clauses, require_draft, require_published, touch
from training.quizzes.grading import KeyedQuestion, grade, review_allowed
from training.quizzes.models import Attempt, Question, QuestionKind, QuestionResult, Quiz
from training.quizzes.schemas import (
    AnswerIn,
    AttemptQuestion,
    AttemptRead,
    AttemptResult,
    AttemptStatus,
    OptionRead,
    QuestionAuthorRead,
    QuestionIn,
    QuizAuthorRead,
    QuizIn,
    QuizRead,
    QuizSettings,
    ReviewItem,
)

_random = secrets.SystemRandom()

# -- authoring ------------------------------------------------------------------------------


def _option_id() -> str:
    # Random, so an option's id says nothing about its position or correctness.
    return secrets.token_hex(4)


def _question_row(quiz_id: uuid.UUID, position: int, data: QuestionIn) -> Question:
    if data.kind is QuestionKind.TRUE_FALSE:
        true_id, false_id = _option_id(), _option_id()
        options = [{"id": true_id, "text": "True"}, {"id": false_id, "text": "False"}]
        correct = [true_id if data.answer else false_id]
    else:
        assert data.options is not None
        ids = [_option_id() for _ in data.options]
        options = [{"id": i, "text": o.text} for i, o in zip(ids, data.options, strict=True)]
        correct = [i for i, o in zip(ids, data.options, strict=True) if o.correct]
    return Question(
        quiz_id=quiz_id,
        position=position,
        kind=data.kind,
        prompt=data.prompt,
        options=options,
        correct_option_ids=correct,
        explanation=data.explanation,
        clause_numbers=list(data.clause_numbers),
    )


async def put_quiz(session: AsyncSession, *, module: Module, data: QuizIn) -> Quiz:
    """Set (or replace) the quiz of a draft module."""
    require_draft(module)
    await check_clauses(session, (n for q in data.questions for n in q.clause_numbers))
    quiz = await session.scalar(select(Quiz).where(col(Quiz.module_id) == module.id))
    settings = data.model_dump(exclude={"questions"})
    if quiz is None:
        quiz = Quiz.model_validate(settings, update={"module_id": module.id})
    else:
        await session.execute(delete(Question).where(col(Question.quiz_id) == quiz.id))
        for field, value in settings.items():
            setattr(quiz, field, value)
    session.add(quiz)
    await session.flush()
    session.add_all(_question_row(quiz.id, i, q) for i, q in enumerate(data.questions))
    await touch(session, module)
    return quiz


async def remove_quiz(session: AsyncSession, *, module: Module) -> None:
    require_draft(module)
    quiz = await quiz_of(session, module=module)
    await session.execute(delete(Question).where(col(Question.quiz_id) == quiz.id))
    await session.delete(quiz)
    await touch(session, module)


async def quiz_of(session: AsyncSession, *, module: Module) -> Quiz:
    quiz = await session.scalar(select(Quiz).where(col(Quiz.module_id) == module.id))
    if quiz is None:
        raise QuizNotFound(f"Module '{module.title}' has no quiz.")
    return quiz


async def _questions(session: AsyncSession, quiz: Quiz) -> list[Question]:
    return list(
        await session.scalars(
            select(Question)
            .where(col(Question.quiz_id) == quiz.id)
            .order_by(col(Question.position))
        )
    )


async def author_view(session: AsyncSession, *, quiz: Quiz) -> QuizAuthorRead:
    return QuizAuthorRead(
        **QuizSettings.model_validate(quiz).model_dump(),
        questions=[
            QuestionAuthorRead(
                id=q.id,
                position=q.position,
                kind=q.kind,
                prompt=q.prompt,
                options=[OptionRead(**o) for o in q.options],
                correct_option_ids=q.correct_option_ids,
                explanation=q.explanation,
                clause_numbers=q.clause_numbers,
            )
            for q in await _questions(session, quiz)
        ],
    )


async def learner_view(session: AsyncSession, *, quiz: Quiz, person_id: uuid.UUID) -> QuizRead:
    used, passed = await _standing(session, quiz=quiz, person_id=person_id)
    count = await session.scalar(
        select(func.count()).select_from(Question).where(col(Question.quiz_id) == quiz.id)
    )
    return QuizRead(
        **QuizSettings.model_validate(quiz).model_dump(),
        question_count=count or 0,
        attempts_used=used,
        attempts_left=max(0, quiz.attempt_limit - used),
        passed=passed,
    )


async def _standing(session: AsyncSession, *, quiz: Quiz, person_id: uuid.UUID) -> tuple[int, bool]:
    """Attempts used and whether any passed."""
    row = (
        await session.execute(
            select(func.count(), func.count().filter(col(Attempt.passed).is_(True))).where(
                col(Attempt.quiz_id) == quiz.id, col(Attempt.person_id) == person_id
            )
        )
    ).one()
    return int(row[0]), bool(row[1])


# -- attempts -------------------------------------------------------------------------------


def status_of(attempt: Attempt, now: dt.datetime) -> AttemptStatus:
    if attempt.submitted_at is not None:
        return AttemptStatus.SUBMITTED
    if attempt.deadline_at is not None and attempt.deadline_at < now:
        return AttemptStatus.EXPIRED
    return AttemptStatus.IN_PROGRESS


async def start_attempt(session: AsyncSession, *, module: Module, person_id: uuid.UUID) -> Attempt:
    """A new attempt with its own question and option order. Refused once passed, while
    another attempt is open, and at the attempt limit."""
    require_published(module)
    quiz = await quiz_of(session, module=module)
    attempts = list(
        await session.scalars(
            select(Attempt).where(
                col(Attempt.quiz_id) == quiz.id, col(Attempt.person_id) == person_id
            )
        )
    )
    now = utcnow()
    cycle = await current_cycle(session, person_id=person_id, module_id=module.id)
    _check_may_start(quiz, [a for a in attempts if a.cycle == cycle], now)
    questions = await _questions(session, quiz)
    if quiz.shuffle:
        _random.shuffle(questions)
    attempt = Attempt(
        quiz_id=quiz.id,
        module_id=module.id,
        person_id=person_id,
        number=len(attempts) + 1,
        cycle=cycle,
        started_at=now,
        deadline_at=now + dt.timedelta(seconds=quiz.time_limit_seconds)
        if quiz.time_limit_seconds
        else None,
        question_order=[str(q.id) for q in questions],
        option_order={str(q.id): _option_order(q, shuffle=quiz.shuffle) for q in questions},
    )
    if not await flush_unless_duplicate(session, attempt):
        # Another start by the same person won the race for this attempt number.
        raise AttemptInProgress("Another attempt was started at the same moment.")
    await record_progress(session, person_id=person_id, module_id=module.id, cycle=cycle)
    return attempt


def _check_may_start(quiz: Quiz, attempts: Sequence[Attempt], now: dt.datetime) -> None:
    if any(a.passed for a in attempts):
        raise QuizAlreadyPassed("You have already passed this quiz.")
    open_attempts = [a for a in attempts if status_of(a, now) is AttemptStatus.IN_PROGRESS]
    if open_attempts:
        raise AttemptInProgress(
            "Finish the attempt you started before starting another one.",
            extensions={"attempt_id": str(open_attempts[0].id)},
        )
    if len(attempts) >= quiz.attempt_limit:
        raise AttemptLimitReached(
            f"You have used all {quiz.attempt_limit} attempts at this quiz; "
            "your manager or a coach can help you with what to do next."
        )


def _option_order(question: Question, *, shuffle: bool) -> list[str]:
    ids = [option["id"] for option in question.options]
    # True/false keeps its natural order: shuffling it only confuses.
    if shuffle and question.kind is not QuestionKind.TRUE_FALSE:
        _random.shuffle(ids)
    return ids


async def get_attempt(
    session: AsyncSession, *, attempt_id: uuid.UUID, person_id: uuid.UUID
) -> Attempt:
    attempt = await session.get(Attempt, attempt_id)
    # Someone else's attempt does not exist as far as the caller knows.
    if attempt is None or attempt.person_id != person_id:
        raise AttemptNotFound(f"You have no attempt {attempt_id}.")
    return attempt


async def submit_attempt(
    session: AsyncSession,
    *,
    attempt: Attempt,
    answers: Sequence[AnswerIn],
    grace: dt.timedelta,
) -> Attempt:
    """Grade an attempt once. Of two racing submits, exactly one grades; the other gets
    ``AttemptAlreadySubmitted``."""
    now = utcnow()
    if attempt.submitted_at is not None:
        raise AttemptAlreadySubmitted("This attempt was already submitted and graded.")
    if attempt.deadline_at is not None and now > attempt.deadline_at + grace:
        raise TimeLimitExceeded(
            f"The time limit ended at {attempt.deadline_at:%H:%M:%S} UTC; this attempt "
            "counts as failed."
        )
    quiz = await session.get(Quiz, attempt.quiz_id)
    assert quiz is not None
    questions = await _questions(session, quiz)
    chosen = _validated_answers(questions, answers)
    result = grade(
        [
            KeyedQuestion(q.id, q.kind, frozenset(q.correct_option_ids))
            for q in questions
            if str(q.id) in attempt.question_order
        ],
        chosen,
        partial_credit=quiz.partial_credit,
        pass_mark_percent=quiz.pass_mark_percent,
    )
    # The guard in the WHERE clause is what makes grading happen once: a concurrent
    # submit waits for this row and then matches nothing.
    claimed = await session.scalar(
        update(Attempt)
        .where(col(Attempt.id) == attempt.id, col(Attempt.submitted_at).is_(None))
        .values(
            submitted_at=now,
            score_percent=result.score_percent,
            passed=result.passed,
            answers={str(k): sorted(v) for k, v in chosen.items()},
        )
        .returning(col(Attempt.id))
        .execution_options(synchronize_session=False)
    )
    if claimed is None:
        raise AttemptAlreadySubmitted("This attempt was already submitted and graded.")
    session.add_all(
        QuestionResult(
            attempt_id=attempt.id, question_id=g.question_id, correct=g.correct, credit=g.credit
        )
        for g in result.questions
    )
    if result.passed:
        await record_progress(
            session,
            person_id=attempt.person_id,
            module_id=attempt.module_id,
            cycle=attempt.cycle,
            completed=True,
        )
    await session.flush()
    await session.refresh(attempt)
    return attempt


def _validated_answers(
    questions: Sequence[Question], answers: Sequence[AnswerIn]
) -> dict[uuid.UUID, frozenset[str]]:
    by_id = {q.id: q for q in questions}
    chosen: dict[uuid.UUID, frozenset[str]] = {}
    for index, answer in enumerate(answers):
        question = by_id.get(answer.question_id)
        where = f"answers[{index}]"
        if question is None:
            raise InvalidAnswers(f"{where}: question {answer.question_id} is not in this quiz.")
        if answer.question_id in chosen:
            raise InvalidAnswers(f"{where}: question {answer.question_id} is answered twice.")
        options = {option["id"] for option in question.options}
        picked = frozenset(answer.option_ids)
        if not picked <= options:
            raise InvalidAnswers(f"{where}: {sorted(picked - options)} are not its options.")
        if question.kind is not QuestionKind.MULTIPLE_CHOICE and len(picked) > 1:
            raise InvalidAnswers(f"{where}: this question takes a single option.")
        chosen[answer.question_id] = picked
    return chosen


async def read_attempt(session: AsyncSession, *, attempt: Attempt) -> AttemptRead:
    quiz = await session.get(Quiz, attempt.quiz_id)
    assert quiz is not None
    by_id = {str(q.id): q for q in await _questions(session, quiz)}
    ordered = [by_id[qid] for qid in attempt.question_order if qid in by_id]
    return AttemptRead(
        id=attempt.id,
        module_id=attempt.module_id,
        number=attempt.number,
        status=status_of(attempt, utcnow()),
        started_at=attempt.started_at,
        deadline_at=attempt.deadline_at,
        submitted_at=attempt.submitted_at,
        questions=[_attempt_question(q, attempt.option_order[str(q.id)]) for q in ordered],
        result=await _result(session, quiz=quiz, attempt=attempt, questions=ordered),
    )


def _attempt_question(question: Question, option_order: list[str]) -> AttemptQuestion:
    texts = {option["id"]: option["text"] for option in question.options}
    return AttemptQuestion(
        id=question.id,
        kind=question.kind,
        prompt=question.prompt,
        options=[OptionRead(id=i, text=texts[i]) for i in option_order if i in texts],
        clause_numbers=question.clause_numbers,
    )


async def _result(
    session: AsyncSession, *, quiz: Quiz, attempt: Attempt, questions: Sequence[Question]
) -> AttemptResult | None:
    if attempt.submitted_at is None or attempt.score_percent is None:
        return None
    _, quiz_passed = await _standing(session, quiz=quiz, person_id=attempt.person_id)
    review = None
    if review_allowed(quiz.review_rule, submitted=True, quiz_passed=quiz_passed):
        credits = {
            r.question_id: r
            for r in await session.scalars(
                select(QuestionResult).where(col(QuestionResult.attempt_id) == attempt.id)
            )
        }
        chosen = attempt.answers or {}
        review = [
            ReviewItem(
                question_id=q.id,
                chosen_option_ids=chosen.get(str(q.id), []),
                correct_option_ids=q.correct_option_ids,
                correct=credits[q.id].correct,
                credit=credits[q.id].credit,
                explanation=q.explanation,
            )
            for q in questions
        ]
    return AttemptResult(
        score_percent=attempt.score_percent,
        passed=bool(attempt.passed),
        pass_mark_percent=quiz.pass_mark_percent,
        review=review,
    )
