"""Assignment rules and their reconciliation against the directory. Routes and the periodic
job call these; nothing here knows about HTTP.

Reconciliation is idempotent: it compares who each rule targets now with the assignments
that exist and changes only the difference, so running it twice, or after an outage, or
beside an event that already did the work, changes nothing more.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from kit.db import utcnow
from kit.pagination import PageParams, paginate
from training import events
from training.assignments.models import Assignment, ClosedReason, ModuleProgress
from training.assignments.service import current_cycle, progress_join
from training.directory import Directory, DirectoryPerson
from training.errors import ModuleNotFound, ModuleNotPublished, RuleNotFound, UnknownPeople
from training.modules.models import Module, ModuleStatus
from training.policy.renewal import request_renewals
from training.recertification import add_months
from training.rules.leavers import record_leavers
from training.rules.models import AssignmentRule, TargetKind
from training.rules.schemas import Reconciliation, RuleCreate, RuleRead

# Ids per bulk UPDATE: well under every backend's bound-parameter limit.
CHUNK = 500


# -- rules ----------------------------------------------------------------------------------


async def create_rule(
    session: AsyncSession, *, data: RuleCreate, directory: Directory, created_by: uuid.UUID | None
) -> tuple[AssignmentRule, Reconciliation]:
    """Create a rule and assign its module to everyone it targets now."""
    module = await session.get(Module, data.module_id)
    if module is None:
        raise ModuleNotFound(f"There is no module {data.module_id}.")
    current = await current_versions(session, [module.lineage_id])
    if module.lineage_id not in current:
        raise ModuleNotPublished(
            f"Module '{module.title}' has no published version; publish it, then assign it."
        )
    rule = AssignmentRule(
        lineage_id=module.lineage_id,
        target=data.target,
        target_name=data.name,
        person_ids=[str(person_id) for person_id in data.person_ids],
        due_days=data.due_days,
        created_by=created_by,
    )
    members = await _members_or_refuse(directory, rule)
    session.add(rule)
    await session.flush()
    state = await _State.load(session, lineages=[rule.lineage_id], now=utcnow())
    state.assign_joiners(session, rule, members, current[rule.lineage_id])
    await session.flush()
    await state.announce(session)
    return rule, state.result


async def _members_or_refuse(
    directory: Directory, rule: AssignmentRule
) -> dict[uuid.UUID, DirectoryPerson]:
    """Who the rule targets now; a target with nobody in it is most likely a typo."""
    if rule.target is TargetKind.PEOPLE:
        wanted = {uuid.UUID(person_id) for person_id in rule.person_ids}
        found = {p.id: p for p in await directory.people(ids=wanted)}
        missing = sorted(wanted - set(found))
        if missing:
            raise UnknownPeople(
                "These people are not active in the directory: "
                + ", ".join(str(person_id) for person_id in missing),
                extensions={"person_ids": [str(person_id) for person_id in missing]},
            )
        return found
    people = await directory.people(
        department=rule.target_name if rule.target is TargetKind.DEPARTMENT else None,
        group=rule.target_name if rule.target is TargetKind.GROUP else None,
    )
    if not people:
        raise UnknownPeople(
            f"No active people in the {rule.target.value} '{rule.target_name}' "
            "(names are matched exactly); check the spelling."
            if rule.target_name
            else "The directory has no active people."
        )
    return {person.id: person for person in people}


async def current_versions(
    session: AsyncSession, lineages: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Module]:
    """The published version of each lineage that has one."""
    wanted = set(lineages)
    if not wanted:
        return {}
    modules = await session.scalars(
        select(Module).where(
            col(Module.lineage_id).in_(wanted), col(Module.status) == ModuleStatus.PUBLISHED
        )
    )
    return {module.lineage_id: module for module in modules}


async def get_rule(session: AsyncSession, *, rule_id: uuid.UUID) -> AssignmentRule:
    rule = await session.get(AssignmentRule, rule_id)
    if rule is None:
        raise RuleNotFound(f"There is no assignment rule {rule_id}.")
    return rule


async def list_rules(
    session: AsyncSession, *, page: PageParams, module_id: uuid.UUID | None
) -> tuple[list[AssignmentRule], str | None]:
    statement = select(AssignmentRule)
    if module_id is not None:
        module = await session.get(Module, module_id)
        lineage = module.lineage_id if module is not None else module_id
        statement = statement.where(col(AssignmentRule.lineage_id) == lineage)
    return await paginate(
        session, statement, order_by=[AssignmentRule.created_at, AssignmentRule.id], params=page
    )


async def end_rule(session: AsyncSession, *, rule: AssignmentRule) -> AssignmentRule:
    """Stop keeping the rule true; the assignments it made stay as they are."""
    if rule.ended_at is None:
        rule.ended_at = utcnow()
        session.add(rule)
        await session.flush()
    return rule


async def rule_reads(session: AsyncSession, rules: Sequence[AssignmentRule]) -> list[RuleRead]:
    """Rules with their module's current version, in one query."""
    current = await current_versions(session, {rule.lineage_id for rule in rules})
    latest: dict[uuid.UUID, Module] = {}
    missing = {rule.lineage_id for rule in rules} - set(current)
    if missing:
        for module in await session.scalars(
            select(Module).where(col(Module.lineage_id).in_(missing)).order_by(col(Module.number))
        ):
            latest[module.lineage_id] = module
    reads = []
    for rule in rules:
        module = current.get(rule.lineage_id) or latest[rule.lineage_id]
        reads.append(
            RuleRead(
                id=rule.id,
                lineage_id=rule.lineage_id,
                module_id=module.id,
                module_title=module.title,
                target=rule.target,
                name=rule.target_name,
                person_ids=[uuid.UUID(person_id) for person_id in rule.person_ids],
                due_days=rule.due_days,
                created_at=rule.created_at,
                ended_at=rule.ended_at,
            )
        )
    return reads


# -- reconciliation -------------------------------------------------------------------------


@dataclass
class _State:
    """The assignments of some module lineages, as reconciliation needs to see them."""

    now: dt.datetime
    # Per lineage, per person: an assignment not closed (open or completed).
    live: dict[uuid.UUID, dict[uuid.UUID, Assignment]] = field(default_factory=dict)
    # Per lineage, per person: an assignment closed as `left` (a returner's to reopen).
    left: dict[uuid.UUID, dict[uuid.UUID, Assignment]] = field(default_factory=dict)
    # Open (not completed, not closed) assignments made by a rule.
    open_by_rule: list[tuple[uuid.UUID, Assignment]] = field(default_factory=list)
    # Assignments made in this pass, with their module's title (told as events).
    created: list[tuple[Assignment, str]] = field(default_factory=list)
    result: Reconciliation = field(
        default_factory=lambda: Reconciliation(assigned=0, reopened=0, moved=0, closed_left=0)
    )

    @classmethod
    async def load(
        cls, session: AsyncSession, *, lineages: Sequence[uuid.UUID], now: dt.datetime
    ) -> _State:
        state = cls(now=now)
        if not lineages:
            return state
        rows = (
            await session.execute(
                select(Assignment, Module.lineage_id, ModuleProgress.completed_at)
                .join(Module, col(Module.id) == col(Assignment.module_id))
                .outerjoin(ModuleProgress, progress_join())
                .where(col(Module.lineage_id).in_(lineages))
                .order_by(col(Assignment.created_at), col(Assignment.id))
            )
        ).all()
        for assignment, lineage, completed_at in rows:
            if assignment.closed_at is None:
                state.live.setdefault(lineage, {})[assignment.person_id] = assignment
                if completed_at is None and assignment.rule_id is not None:
                    state.open_by_rule.append((lineage, assignment))
            elif assignment.closed_reason is ClosedReason.LEFT:
                state.left.setdefault(lineage, {})[assignment.person_id] = assignment
        return state

    async def announce(self, session: AsyncSession) -> None:
        """The assignments made in this pass, as events (in its transaction)."""
        for assignment, title in self.created:
            await events.assignments_created(session, assignments=[assignment], module_title=title)
        self.created.clear()

    def assign_joiners(
        self,
        session: AsyncSession,
        rule: AssignmentRule,
        members: dict[uuid.UUID, DirectoryPerson],
        module: Module,
    ) -> None:
        """Everyone the rule targets who has no assignment of its module gets one."""
        live = self.live.setdefault(rule.lineage_id, {})
        left = self.left.setdefault(rule.lineage_id, {})
        due_at = self.now + dt.timedelta(days=rule.due_days)
        for person_id, person in members.items():
            if person_id in live:
                continue
            returning = left.pop(person_id, None)
            if returning is not None and returning.module_id == module.id:
                returning.closed_at = returning.closed_reason = None
                assignment = returning
                self.result.reopened += 1
            else:
                assignment = Assignment(module_id=module.id, person_id=person_id, due_at=due_at)
                self.result.assigned += 1
                self.created.append((assignment, module.title))
            assignment.department = person.department
            assignment.due_at = due_at
            assignment.rule_id = rule.id
            session.add(assignment)
            live[person_id] = assignment


async def reconcile(
    session: AsyncSession, *, directory: Directory, renewal_lead: dt.timedelta
) -> Reconciliation:
    """Make every rule true again against the directory as it is now: joiners and movers
    in get the module, movers out hand theirs to another rule or close it as `left`, and
    leavers' open assignments (rule or not) close as `left`."""
    now = utcnow()
    rules = list(
        await session.scalars(
            select(AssignmentRule)
            .where(col(AssignmentRule.ended_at).is_(None))
            .order_by(col(AssignmentRule.created_at), col(AssignmentRule.id))
        )
    )
    # One sweep of the directory answers departments, everyone and leavers.
    active = {person.id: person for person in await directory.people(active=True)}
    members = {rule.id: await _members(directory, rule, active) for rule in rules}
    current = await current_versions(session, {rule.lineage_id for rule in rules})
    state = await _State.load(session, lineages=list(current), now=now)
    for rule in rules:
        if rule.lineage_id in current:
            state.assign_joiners(session, rule, members[rule.id], current[rule.lineage_id])
    keeper: dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID] = {}
    for rule in rules:
        for person_id in members[rule.id]:
            keeper.setdefault((rule.lineage_id, person_id), rule.id)
    ruled = set(members)
    leaving: list[Assignment] = []
    for lineage, assignment in state.open_by_rule:
        if assignment.rule_id not in ruled or assignment.person_id not in active:
            continue  # an ended rule's assignments stay; leavers are closed below
        if assignment.person_id in members[assignment.rule_id]:
            continue
        other = keeper.get((lineage, assignment.person_id))
        if other is not None:
            assignment.rule_id = other
            session.add(assignment)
            state.result.moved += 1
        else:
            leaving.append(assignment)
    for assignment in leaving:
        assignment.closed_at = now
        assignment.closed_reason = ClosedReason.LEFT
        session.add(assignment)
    state.result.closed_left += len(leaving)
    await session.flush()
    await state.announce(session)
    state.result.closed_left += await _close_leavers(session, active=set(active), now=now)
    state.result.leavers_recorded = await record_leavers(
        session, directory=directory, active=set(active), now=now
    )
    state.result.renewed = await renew_due(session, active=set(active), now=now, lead=renewal_lead)
    state.result.acknowledgement_renewals = await request_renewals(
        session, active=set(active), now=now, lead=renewal_lead
    )
    return state.result


async def _members(
    directory: Directory, rule: AssignmentRule, active: dict[uuid.UUID, DirectoryPerson]
) -> dict[uuid.UUID, DirectoryPerson]:
    if rule.target is TargetKind.EVERYONE:
        return active
    if rule.target is TargetKind.DEPARTMENT:
        return {i: p for i, p in active.items() if p.department == rule.target_name}
    if rule.target is TargetKind.PEOPLE:
        named = (uuid.UUID(person_id) for person_id in rule.person_ids)
        return {i: active[i] for i in named if i in active}
    in_group = await directory.people(group=rule.target_name)
    return {person.id: active[person.id] for person in in_group if person.id in active}


async def _close_leavers(session: AsyncSession, *, active: set[uuid.UUID], now: dt.datetime) -> int:
    """Close every open assignment of someone no longer active in the directory."""
    rows = (
        await session.execute(
            select(Assignment.id, Assignment.person_id)
            .outerjoin(ModuleProgress, progress_join())
            .where(col(Assignment.closed_at).is_(None), col(ModuleProgress.completed_at).is_(None))
        )
    ).all()
    gone = [row.id for row in rows if row.person_id not in active]
    for start in range(0, len(gone), CHUNK):
        await session.execute(
            update(Assignment)
            .where(col(Assignment.id).in_(gone[start : start + CHUNK]))
            .values(closed_at=now, closed_reason=ClosedReason.LEFT)
        )
    return len(gone)


# -- recertification ------------------------------------------------------------------------


async def renew_due(
    session: AsyncSession, *, active: set[uuid.UUID], now: dt.datetime, lead: dt.timedelta
) -> int:
    """Assign a renewal ahead of expiry for every completion of a module that must be
    renewed (its current version's ``renew_every_months``), once per completion: due on
    the day the completion expires, on the module's current version; not for leavers."""
    renewing = {
        module.lineage_id: module
        for module in await session.scalars(
            select(Module).where(
                col(Module.status) == ModuleStatus.PUBLISHED,
                col(Module.renew_every_months).is_not(None),
            )
        )
    }
    if not renewing:
        return 0
    renewed = select(Assignment.renewal_of).where(col(Assignment.renewal_of).is_not(None))
    rows = (
        await session.execute(
            select(Assignment, Module.lineage_id, ModuleProgress.completed_at)
            .join(Module, col(Module.id) == col(Assignment.module_id))
            .join(ModuleProgress, progress_join())
            .where(
                col(Module.lineage_id).in_(list(renewing)),
                col(ModuleProgress.completed_at).is_not(None),
                col(Assignment.id).not_in(renewed),
            )
        )
    ).all()
    cycles: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    count = 0
    for assignment, lineage, completed_at in rows:
        module = renewing[lineage]
        assert module.renew_every_months is not None
        expires_at = add_months(completed_at, module.renew_every_months)
        if assignment.person_id not in active or expires_at - lead > now:
            continue
        key = (module.id, assignment.person_id)
        if key not in cycles:
            cycles[key] = await current_cycle(
                session, person_id=assignment.person_id, module_id=module.id
            )
            if module.id != assignment.module_id and not await _holds(session, key):
                cycles[key] -= 1  # a first assignment of this version: cycle 0
        cycles[key] += 1
        renewal = Assignment(
            module_id=module.id,
            person_id=assignment.person_id,
            department=assignment.department,
            due_at=max(expires_at, now + dt.timedelta(days=1)),
            rule_id=assignment.rule_id,
            cycle=cycles[key],
            renewal_of=assignment.id,
        )
        session.add(renewal)
        await events.assignments_created(session, assignments=[renewal], module_title=module.title)
        count += 1
    await session.flush()
    return count


async def _holds(session: AsyncSession, key: tuple[uuid.UUID, uuid.UUID]) -> bool:
    module_id, person_id = key
    found = await session.scalar(
        select(Assignment.id)
        .where(col(Assignment.module_id) == module_id, col(Assignment.person_id) == person_id)
        .limit(1)
    )
    return found is not None
