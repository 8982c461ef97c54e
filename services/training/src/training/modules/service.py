"""Modules, examples and what-if scenarios. Routes call these; nothing here knows about HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from kit.db import flush_unless_duplicate, utcnow
from kit.errors import Conflict
from kit.pagination import PageParams, paginate
from training.assignments.models import ModuleProgress
from training.assignments.service import carry_over_to_revision, record_progress
from training.errors import (
    ModuleNotEditable,
    ModuleNotFound,
    ModuleNotPublished,
    ScenarioNotFound,
    UnknownClause,
    UnknownOption,
)
from training.modules.models import Example, Module, ModuleStatus, Scenario, ScenarioAnswer
from training.modules.schemas import (
    ExampleIn,
    ExampleRead,
    ModuleCreate,
    ModuleRead,
    ModuleSummary,
    ModuleUpdate,
    RevisionCreate,
    ScenarioFeedback,
    ScenarioIn,
    ScenarioOptionPublic,
    ScenarioPublicRead,
    ScenarioRead,
)
from training.policy.service import clause_numbers_in_force
from training.quizzes.models import Question, Quiz


async def check_clauses(session: AsyncSession, numbers: Iterable[str | None]) -> None:
    """Training content may cite only clauses of the current policy version."""
    cited = {number for number in numbers if number is not None}
    if not cited:
        return
    unknown = sorted(cited - await clause_numbers_in_force(session))
    if unknown:
        raise UnknownClause(
            f"The current policy has no clause {', '.join(unknown)}; cite one of its clauses.",
            extensions={"clause_numbers": unknown},
        )


def _cited(
    examples: list[ExampleIn] | None, scenarios: list[ScenarioIn] | None
) -> list[str | None]:
    return [e.clause_number for e in examples or []] + [s.clause_number for s in scenarios or []]


# -- reading --------------------------------------------------------------------------------


async def list_modules(
    session: AsyncSession, *, page: PageParams, statuses: Iterable[ModuleStatus]
) -> tuple[list[Module], str | None]:
    statement = select(Module).where(col(Module.status).in_(list(statuses)))
    return await paginate(session, statement, order_by=[Module.created_at, Module.id], params=page)


async def get_module(
    session: AsyncSession, *, module_id: uuid.UUID, include_drafts: bool
) -> Module:
    module = await session.get(Module, module_id)
    # Drafts are invisible to readers: the same answer as for no such module.
    if module is None or (module.status is ModuleStatus.DRAFT and not include_drafts):
        raise ModuleNotFound(f"There is no module {module_id}.")
    return module


async def read_module(session: AsyncSession, module: Module, *, author_view: bool) -> ModuleRead:
    examples = await session.scalars(
        select(Example).where(col(Example.module_id) == module.id).order_by(col(Example.position))
    )
    scenarios = list(
        await session.scalars(
            select(Scenario)
            .where(col(Scenario.module_id) == module.id)
            .order_by(col(Scenario.position))
        )
    )
    has_quiz = await session.scalar(
        select(func.count()).select_from(Quiz).where(col(Quiz.module_id) == module.id)
    )
    scenario_reads: list[ScenarioRead] | list[ScenarioPublicRead] = (
        [ScenarioRead.model_validate(s) for s in scenarios]
        if author_view
        else [_public_scenario(s) for s in scenarios]
    )
    return ModuleRead(
        **ModuleSummary.model_validate(module).model_dump(),
        body_markdown=module.body_markdown,
        examples=[ExampleRead.model_validate(e) for e in examples],
        scenarios=scenario_reads,
        has_quiz=bool(has_quiz),
    )


def _public_scenario(scenario: Scenario) -> ScenarioPublicRead:
    return ScenarioPublicRead(
        id=scenario.id,
        position=scenario.position,
        situation=scenario.situation,
        clause_number=scenario.clause_number,
        options=[ScenarioOptionPublic(key=o["key"], text=o["text"]) for o in scenario.options],
    )


# -- authoring ------------------------------------------------------------------------------


async def create_module(
    session: AsyncSession, *, data: ModuleCreate, author_id: uuid.UUID | None
) -> Module:
    cited = _cited(data.examples, data.scenarios)
    taught = data.clause_numbers
    if taught is None:
        taught = [number for number in cited if number is not None]
    await check_clauses(session, [*cited, *taught])
    module = Module.model_validate(
        data.model_dump(exclude={"examples", "scenarios", "clause_numbers"}),
        update={"created_by": author_id, "clause_numbers": sorted(set(taught))},
    )
    session.add(module)
    await session.flush()
    _add_content(session, module.id, examples=data.examples, scenarios=data.scenarios)
    await session.flush()
    return module


def _add_content(
    session: AsyncSession,
    module_id: uuid.UUID,
    *,
    examples: list[ExampleIn] | None,
    scenarios: list[ScenarioIn] | None,
) -> None:
    for position, example in enumerate(examples or []):
        session.add(Example(module_id=module_id, position=position, **example.model_dump()))
    for position, scenario in enumerate(scenarios or []):
        session.add(Scenario(module_id=module_id, position=position, **scenario.model_dump()))


def require_draft(module: Module) -> None:
    if module.status is not ModuleStatus.DRAFT:
        raise ModuleNotEditable(
            f"Module '{module.title}' version {module.number} is {module.status.value} and "
            "frozen; start a new revision to change it."
        )


async def touch(session: AsyncSession, module: Module) -> None:
    """Move the module's version (its ETag) after any change to its content."""
    module.updated_at = utcnow()
    session.add(module)
    await session.flush()


async def update_module(session: AsyncSession, *, module: Module, data: ModuleUpdate) -> Module:
    require_draft(module)
    await check_clauses(
        session, [*_cited(data.examples, data.scenarios), *(data.clause_numbers or [])]
    )
    if data.clause_numbers is not None:
        data.clause_numbers = sorted(set(data.clause_numbers))
    for field, value in data.model_dump(
        exclude_unset=True, exclude={"examples", "scenarios"}
    ).items():
        setattr(module, field, value)
    if data.examples is not None:
        await session.execute(delete(Example).where(col(Example.module_id) == module.id))
    if data.scenarios is not None:
        await session.execute(delete(Scenario).where(col(Scenario.module_id) == module.id))
    _add_content(session, module.id, examples=data.examples, scenarios=data.scenarios)
    await touch(session, module)
    return module


async def publish_module(session: AsyncSession, *, module: Module) -> Module:
    """Freeze a draft; the lineage's previously published version is retired."""
    require_draft(module)
    await _check_quiz_complete(session, module)
    now = utcnow()
    previous = await session.scalars(
        select(Module).where(
            col(Module.lineage_id) == module.lineage_id,
            col(Module.status) == ModuleStatus.PUBLISHED,
        )
    )
    retired_ids = []
    for old in previous:
        old.status = ModuleStatus.RETIRED
        old.updated_at = now
        session.add(old)
        retired_ids.append(old.id)
    module.status = ModuleStatus.PUBLISHED
    module.published_at = module.updated_at = now
    session.add(module)
    await session.flush()
    # Assignments on versions retired earlier were carried over when they were retired.
    await carry_over_to_revision(session, revision=module, retired_ids=retired_ids)
    return module


async def _check_quiz_complete(session: AsyncSession, module: Module) -> None:
    quiz = await session.scalar(select(Quiz).where(col(Quiz.module_id) == module.id))
    if quiz is None:
        return
    questions = await session.scalar(
        select(func.count()).select_from(Question).where(col(Question.quiz_id) == quiz.id)
    )
    if not questions:
        raise Conflict(f"The quiz of '{module.title}' has no questions; add some or remove it.")


async def revise_module(
    session: AsyncSession, *, module: Module, data: RevisionCreate, author_id: uuid.UUID | None
) -> Module:
    """A new draft version copying a published or retired one (content and quiz)."""
    if module.status is ModuleStatus.DRAFT:
        raise ModuleNotEditable("This version is still a draft: edit it instead.")
    last = await session.scalar(
        select(func.max(Module.number)).where(col(Module.lineage_id) == module.lineage_id)
    )
    draft = Module(
        lineage_id=module.lineage_id,
        number=(last or 0) + 1,
        title=module.title,
        summary=module.summary,
        body_markdown=module.body_markdown,
        core=module.core,
        clause_numbers=list(module.clause_numbers),
        renew_every_months=module.renew_every_months,
        material=data.material,
        material_due_days=data.material_due_days,
        created_by=author_id,
    )
    if not await flush_unless_duplicate(session, draft):
        raise Conflict("Another revision was started at the same moment; reload.")
    await _copy_content(session, source=module, target=draft)
    return draft


async def _copy_content(session: AsyncSession, *, source: Module, target: Module) -> None:
    for example in await session.scalars(
        select(Example).where(col(Example.module_id) == source.id)
    ):
        session.add(
            Example.model_validate(
                example.model_dump(exclude={"id"}), update={"module_id": target.id}
            )
        )
    for scenario in await session.scalars(
        select(Scenario).where(col(Scenario.module_id) == source.id)
    ):
        session.add(
            Scenario.model_validate(
                scenario.model_dump(exclude={"id"}), update={"module_id": target.id}
            )
        )
    quiz = await session.scalar(select(Quiz).where(col(Quiz.module_id) == source.id))
    if quiz is not None:
        copy = Quiz.model_validate(quiz.model_dump(exclude={"id"}), update={"module_id": target.id})
        session.add(copy)
        await session.flush()
        for question in await session.scalars(
            select(Question).where(col(Question.quiz_id) == quiz.id)
        ):
            session.add(
                Question.model_validate(
                    question.model_dump(exclude={"id"}), update={"quiz_id": copy.id}
                )
            )
    await session.flush()


# -- learning -------------------------------------------------------------------------------


def require_published(module: Module) -> None:
    if module.status is not ModuleStatus.PUBLISHED:
        raise ModuleNotPublished(
            f"Module '{module.title}' version {module.number} is {module.status.value}; "
            "only the published version can be taken."
        )


async def mark_read(
    session: AsyncSession, *, module: Module, person_id: uuid.UUID
) -> ModuleProgress:
    """Reading completes a module without a quiz; with a quiz, passing it does."""
    require_published(module)
    has_quiz = await session.scalar(
        select(func.count()).select_from(Quiz).where(col(Quiz.module_id) == module.id)
    )
    return await record_progress(
        session, person_id=person_id, module_id=module.id, read=True, completed=not has_quiz
    )


async def answer_scenario(
    session: AsyncSession,
    *,
    module: Module,
    scenario_id: uuid.UUID,
    person_id: uuid.UUID,
    option_key: str,
) -> ScenarioFeedback:
    require_published(module)
    scenario = await session.get(Scenario, scenario_id)
    if scenario is None or scenario.module_id != module.id:
        raise ScenarioNotFound(f"Module '{module.title}' has no scenario {scenario_id}.")
    options = {option["key"]: option for option in scenario.options}
    if option_key not in options:
        raise UnknownOption(
            f"'{option_key}' is not an option of this scenario; choose one of {', '.join(options)}."
        )
    session.add(ScenarioAnswer(scenario_id=scenario.id, person_id=person_id, option_key=option_key))
    await record_progress(session, person_id=person_id, module_id=module.id)
    return ScenarioFeedback(
        scenario_id=scenario.id,
        option_key=option_key,
        feedback=options[option_key]["feedback"],
        recommended=option_key == scenario.recommended_key,
        recommended_key=scenario.recommended_key,
        recommended_why=scenario.recommended_why,
        clause_number=scenario.clause_number,
    )
