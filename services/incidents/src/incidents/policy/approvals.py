"""Signing off a version of the escalation policy: submitting it, approvers' verdicts,
withdrawing them when the content changes, and the version's timeline.

The rules of who counts live in ``incidents.policy.signoff`` (pure); this module reads and
writes the rows. Every step is appended to the version's timeline in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from incidents.errors import (
    ApproverNeeded,
    NotAnApprover,
    PolicyAlreadySubmitted,
    PolicyContentChanged,
    PolicyNotEditable,
    PolicyNotSignedOff,
    PolicyNotSubmitted,
    VerdictAlreadyGiven,
)
from incidents.policy.models import (
    EscalationPolicy,
    PolicyApproval,
    PolicyApprover,
    PolicyEvent,
    PolicyEventKind,
    PolicyStatus,
    Verdict,
)
from incidents.policy.signoff import Standing, group_of, signed_off, standings
from kit.db import table_of, utcnow
from kit.identity import Caller
from kit.pagination import PageParams, paginate

SYSTEM_ACTOR = "service:incidents"
# Whether the caller is a member of a directory group (asked of the directory).
IsMember = Callable[[str], Awaitable[bool]]


def record(
    session: AsyncSession,
    *,
    policy_id: uuid.UUID,
    kind: PolicyEventKind,
    summary: str,
    actor: Caller | None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append a step to the version's timeline; ``actor`` ``None`` is the service itself."""
    session.add(
        PolicyEvent(
            policy_id=policy_id,
            kind=kind,
            actor=actor.principal_key if actor is not None else SYSTEM_ACTOR,
            actor_id=actor.person_id if actor is not None else None,
            summary=summary,
            data=data or {},
        )
    )


async def required_approvers(session: AsyncSession, *, configured: Sequence[str]) -> list[str]:
    """The approvers a version needs now: those of the settings, then those HR added."""
    added = await session.scalars(
        select(PolicyApprover.approver).order_by(
            col(PolicyApprover.added_at), col(PolicyApprover.approver)
        )
    )
    return list(dict.fromkeys([*configured, *added]))


async def added_approvers(session: AsyncSession) -> list[PolicyApprover]:
    rows = await session.scalars(
        select(PolicyApprover).order_by(col(PolicyApprover.added_at), col(PolicyApprover.approver))
    )
    return list(rows)


async def set_added_approvers(
    session: AsyncSession, *, configured: Sequence[str], approvers: Sequence[str], actor: Caller
) -> list[str]:
    """Replace the approvers HR added (those of the settings always stay). A draft being
    signed off gets the change on its timeline."""
    before = await required_approvers(session, configured=configured)
    wanted = [approver for approver in dict.fromkeys(approvers) if approver not in configured]
    current = {row.approver: row for row in await added_approvers(session)}
    for approver, row in current.items():
        if approver not in wanted:
            await session.delete(row)
    session.add_all(
        PolicyApprover(approver=approver, added_by=actor.person_id)
        for approver in wanted
        if approver not in current
    )
    await session.flush()
    after = await required_approvers(session, configured=configured)
    if after != before:
        draft = await session.scalar(
            select(EscalationPolicy).where(col(EscalationPolicy.status) == PolicyStatus.DRAFT)
        )
        if draft is not None:
            record(
                session,
                policy_id=draft.id,
                kind=PolicyEventKind.APPROVERS_CHANGED,
                summary=f"Approvers now: {', '.join(after)}.",
                actor=actor,
                data={"before": before, "after": after},
            )
            await session.flush()
    return after


async def verdicts_of(session: AsyncSession, *, policy_id: uuid.UUID) -> list[PolicyApproval]:
    """Every verdict on the version, withdrawn ones too, oldest first."""
    rows = await session.scalars(
        select(PolicyApproval)
        .where(col(PolicyApproval.policy_id) == policy_id)
        .order_by(col(PolicyApproval.at), col(PolicyApproval.id))
    )
    return list(rows)


async def drafters_of(session: AsyncSession, *, policy: EscalationPolicy) -> set[uuid.UUID]:
    """Who wrote the version: its author and everyone who edited it."""
    editors = await session.scalars(
        select(PolicyEvent.actor_id).where(
            col(PolicyEvent.policy_id) == policy.id,
            col(PolicyEvent.kind) == PolicyEventKind.EDITED,
        )
    )
    return {person for person in [policy.created_by, *editors] if person is not None}


async def standing_of(
    session: AsyncSession,
    *,
    policy: EscalationPolicy,
    content_hash: str,
    required: Sequence[str],
) -> tuple[list[Standing], list[PolicyApproval]]:
    verdicts = await verdicts_of(session, policy_id=policy.id)
    standing = standings(
        required,
        [v for v in verdicts if v.withdrawn_at is None],
        content_hash=content_hash,
        drafters=await drafters_of(session, policy=policy),
    )
    return standing, verdicts


async def submit(
    session: AsyncSession, *, policy: EscalationPolicy, content_hash: str, actor: Caller
) -> EscalationPolicy:
    """Ask the approvers for their verdict on the draft."""
    ensure_draft(policy, doing="submit")
    if policy.submitted_at is not None:
        raise PolicyAlreadySubmitted(
            f"Version {policy.number} was submitted for approval at "
            f"{policy.submitted_at.isoformat()}; approvers can give their verdict now."
        )
    policy.submitted_at = utcnow()
    policy.submitted_by = actor.person_id
    session.add(policy)
    record(
        session,
        policy_id=policy.id,
        kind=PolicyEventKind.SUBMITTED,
        summary=f"Submitted for approval (content {content_hash[:12]}).",
        actor=actor,
        data={"content_hash": content_hash},
    )
    await session.flush()
    return policy


async def give_verdict(
    session: AsyncSession,
    *,
    policy: EscalationPolicy,
    content_hash: str,
    required: Sequence[str],
    caller: Caller,
    is_member: IsMember,
    verdict: Verdict,
    approver: str | None,
    comment: str | None,
    seen_hash: str | None,
) -> PolicyApproval:
    """Record ``caller``'s verdict on the version's current content, as ``approver``."""
    ensure_draft(policy, doing="approve" if verdict is Verdict.APPROVED else "reject")
    if policy.submitted_at is None:
        raise PolicyNotSubmitted(
            f"Version {policy.number} has not been submitted for approval yet; HR submits "
            "it (POST .../submit) when the draft is ready."
        )
    if seen_hash is not None and seen_hash != content_hash:
        raise PolicyContentChanged(
            "The rules or notes changed since you read them (you saw content "
            f"{seen_hash[:12]}, it is now {content_hash[:12]}). Read the version again "
            "and give your verdict on what it says now.",
            extensions={"content_hash": content_hash},
        )
    person_id = caller.person_id
    if person_id is None:
        raise NotAnApprover("Only a person can approve or reject a version of the policy.")
    chosen = await _approver_for(
        session,
        policy=policy,
        content_hash=content_hash,
        required=required,
        caller=caller,
        is_member=is_member,
        approver=approver,
    )
    row = PolicyApproval(
        policy_id=policy.id,
        approver=chosen,
        person_id=person_id,
        verdict=verdict,
        comment=comment,
        content_hash=content_hash,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        # The same verdict sent twice at the same moment: the unique index decides.
        raise VerdictAlreadyGiven(
            f"You already gave your verdict on this content as {chosen}."
        ) from exc
    said = f": {comment}" if comment else ""
    record(
        session,
        policy_id=policy.id,
        kind=PolicyEventKind(verdict.value),
        summary=f"{verdict.capitalize()} as {chosen}{said}",
        actor=caller,
        data={"approver": chosen, "content_hash": content_hash, "comment": comment},
    )
    await session.flush()
    return row


async def _approver_for(
    session: AsyncSession,
    *,
    policy: EscalationPolicy,
    content_hash: str,
    required: Sequence[str],
    caller: Caller,
    is_member: IsMember,
    approver: str | None,
) -> str:
    given = {
        v.approver
        for v in await verdicts_of(session, policy_id=policy.id)
        if v.person_id == caller.person_id
        and v.content_hash == content_hash
        and v.withdrawn_at is None
    }
    if approver is not None:
        if approver not in required:
            raise NotAnApprover(
                f"{approver} is not an approver of the policy; its approvers are "
                f"{', '.join(required)}."
            )
        if not await _qualifies(caller, approver, is_member):
            raise NotAnApprover(
                f"You cannot approve as {approver}: "
                + (
                    f"you are not a member of the group {group_of(approver)}."
                    if group_of(approver)
                    else f"you do not hold the role {approver}."
                )
            )
        if approver in given:
            raise VerdictAlreadyGiven(
                f"You already gave your verdict on this content as {approver}; "
                "it stands until the content changes."
            )
        return approver
    eligible = [a for a in required if await _qualifies(caller, a, is_member)]
    if not eligible:
        raise NotAnApprover(
            f"You are none of the policy's approvers ({', '.join(required)}), so you cannot "
            "approve or reject it."
        )
    open_ = [a for a in eligible if a not in given]
    if not open_:
        raise VerdictAlreadyGiven(
            f"You already gave your verdict on this content as {', '.join(eligible)}; "
            "it stands until the content changes."
        )
    if len(open_) > 1:
        raise ApproverNeeded(
            f"You can give a verdict as {' or '.join(open_)}: say which in `approver`.",
            extensions={"approvers": open_},
        )
    return open_[0]


async def _qualifies(caller: Caller, approver: str, is_member: IsMember) -> bool:
    group = group_of(approver)
    if group is None:
        return caller.has_role(approver)
    return await is_member(group)


async def withdraw_stale(
    session: AsyncSession, *, policy: EscalationPolicy, content_hash: str, actor: Caller
) -> int:
    """The content changed: every verdict given on other content is withdrawn, and the
    timeline says so (one entry per verdict)."""
    stale = [
        v
        for v in await verdicts_of(session, policy_id=policy.id)
        if v.withdrawn_at is None and v.content_hash != content_hash
    ]
    if not stale:
        return 0
    now = utcnow()
    approvals = table_of(PolicyApproval)
    await session.execute(
        update(approvals).where(approvals.c.id.in_([v.id for v in stale])).values(withdrawn_at=now)
    )
    for v in stale:
        v.withdrawn_at = now
        record(
            session,
            policy_id=policy.id,
            kind=PolicyEventKind.APPROVAL_WITHDRAWN,
            summary=f"The content changed after person {v.person_id} {v.verdict} as "
            f"{v.approver}: that verdict is withdrawn and must be given again.",
            actor=actor,
            data={
                "approval_id": str(v.id),
                "approver": v.approver,
                "person_id": str(v.person_id),
                "verdict": v.verdict,
                "content_hash": v.content_hash,
                "new_content_hash": content_hash,
            },
        )
    await session.flush()
    return len(stale)


async def require_signed_off(
    session: AsyncSession,
    *,
    policy: EscalationPolicy,
    content_hash: str,
    required: Sequence[str],
) -> None:
    """Publishing waits for every required approver's approval of the current content."""
    standing, _ = await standing_of(
        session, policy=policy, content_hash=content_hash, required=required
    )
    if signed_off(standing):
        return
    missing = [s for s in standing if s.state.value != "approved"]
    submitted = "" if policy.submitted_at else " It has not been submitted for approval yet."
    raise PolicyNotSignedOff(
        f"Version {policy.number} cannot be published until every approver has approved "
        f"its current content. Missing: {'; '.join(s.explain() for s in missing)}.{submitted}",
        extensions={"missing": [s.approver for s in missing]},
    )


async def timeline_of(
    session: AsyncSession, *, policy_id: uuid.UUID, page: PageParams
) -> tuple[list[PolicyEvent], str | None]:
    return await paginate(
        session,
        select(PolicyEvent).where(col(PolicyEvent.policy_id) == policy_id),
        order_by=[PolicyEvent.seq],
        params=page,
    )


def ensure_draft(policy: EscalationPolicy, *, doing: str) -> None:
    if policy.status is not PolicyStatus.DRAFT:
        raise PolicyNotEditable(
            f"Version {policy.number} is {policy.status}: only a draft can be edited, "
            f"submitted, approved or rejected, so you cannot {doing} it. Create a draft "
            "(a copy of the published policy) for a change."
        )
