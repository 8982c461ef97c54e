"""Escalation policy routes: parse, authorise, call the service, return."""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status

from incidents.deps import (
    CallerDep,
    HrDep,
    MembershipDep,
    PolicyReaderDep,
    SessionDep,
    SettingsDep,
)
from incidents.policy import approvals, rendering, replays, service
from incidents.policy.access import check_reviewer
from incidents.policy.models import ReplayStatus, Verdict
from incidents.policy.readable import readable_policy
from incidents.policy.schemas import (
    AddedApproverRead,
    ApproversRead,
    ApproversUpdate,
    ConditionRead,
    DryRunFacts,
    DryRunResult,
    EscalationPolicyDraft,
    EscalationPolicyRead,
    EscalationPolicySummary,
    EscalationPolicyUpdate,
    EscalationRuleRead,
    PolicyEventRead,
    PublishedPolicyRead,
    ReferenceIndexRead,
    RejectionIn,
    ReplayIn,
    ReplayRead,
    RuleCheckRead,
    VerdictIn,
)
from kit.concurrency import ETagged, IfMatch, check_if_match, set_etag
from kit.db import call_after_commit
from kit.pagination import Page, PageParamsDep

router = APIRouter(prefix="/api/v1/incidents", tags=["escalation policy"])


@router.get("/escalation-policy", response_model=PublishedPolicyRead)
async def get_escalation_policy(
    session: SessionDep,
    caller: CallerDep,
    response: ETagged,
    lang: Annotated[
        Literal["en", "nl"] | None,
        Query(description="The language of the plain words; otherwise from Accept-Language."),
    ] = None,
    accept_language: Annotated[str | None, Header(max_length=500)] = None,
) -> PublishedPolicyRead:
    """The published escalation policy for everyone: each rule also in plain words (what
    happens, who is told, who is responsible and how long they have), in English or Dutch."""
    policy = await service.published_policy(session)
    language = lang or rendering.language_for(accept_language)
    set_etag(response, policy.version)
    response.headers["Content-Language"] = language
    response.headers["Vary"] = "Accept-Language"
    return await readable_policy(session, policy=policy, language=language)


@router.get("/escalation-policies", response_model=Page[EscalationPolicySummary])
async def list_escalation_policies(
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    is_member: MembershipDep,
    page: PageParamsDep,
) -> Page[EscalationPolicySummary]:
    """Every version of the policy (draft, published, retired), newest first (HR, legal,
    policy owners, approvers)."""
    await check_reviewer(
        session, caller=caller, configured=settings.policy_approvers, is_member=is_member
    )
    policies, next_cursor = await service.list_policies(session, page=page)
    return Page(
        items=[EscalationPolicySummary.model_validate(policy) for policy in policies],
        next_cursor=next_cursor,
    )


@router.post(
    "/escalation-policies",
    response_model=EscalationPolicyRead,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "A draft already exists."}},
)
async def create_escalation_policy_draft(
    session: SessionDep,
    caller: HrDep,
    settings: SettingsDep,
    data: EscalationPolicyDraft,
    response: ETagged,
) -> EscalationPolicyRead:
    """Start a draft (HR): the rules given, or a copy of the published policy."""
    draft = await service.create_draft(session, data=data, author=caller)
    set_etag(response, draft.version)
    return await service.read_policy(
        session, policy=draft, configured=settings.policy_approvers, caller=caller
    )


@router.get("/escalation-policies/{policy_id}", response_model=EscalationPolicyRead)
async def get_escalation_policy_version(
    policy_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    is_member: MembershipDep,
    response: ETagged,
) -> EscalationPolicyRead:
    """One version of the policy with its rules and its sign-off (HR, legal, policy owners,
    approvers)."""
    await check_reviewer(
        session, caller=caller, configured=settings.policy_approvers, is_member=is_member
    )
    policy = await service.get_policy(session, policy_id=policy_id)
    set_etag(response, policy.version)
    return await service.read_policy(
        session, policy=policy, configured=settings.policy_approvers, caller=caller
    )


@router.put(
    "/escalation-policies/{policy_id}",
    response_model=EscalationPolicyRead,
    responses={409: {"description": "The version is not a draft."}},
)
async def update_escalation_policy_draft(
    policy_id: uuid.UUID,
    session: SessionDep,
    caller: HrDep,
    settings: SettingsDep,
    data: EscalationPolicyUpdate,
    response: ETagged,
    if_match: IfMatch,
) -> EscalationPolicyRead:
    """Replace a draft's rules and notes (HR; `If-Match` required). A change of content
    withdraws every approval given before it."""
    policy = await service.update_draft(
        session, policy_id=policy_id, data=data, if_match=if_match, editor=caller
    )
    set_etag(response, policy.version)
    return await service.read_policy(
        session, policy=policy, configured=settings.policy_approvers, caller=caller
    )


@router.post(
    "/escalation-policies/{policy_id}/publish",
    response_model=EscalationPolicyRead,
    responses={
        409: {"description": "Not a draft, or not every approver approved its current content."}
    },
)
async def publish_escalation_policy(
    policy_id: uuid.UUID,
    session: SessionDep,
    caller: HrDep,
    settings: SettingsDep,
    response: ETagged,
    if_match: IfMatch,
) -> EscalationPolicyRead:
    """Publish a signed-off draft (HR; `If-Match` required): new decisions use it from now on."""
    policy = await service.publish(
        session,
        policy_id=policy_id,
        if_match=if_match,
        publisher=caller,
        configured=settings.policy_approvers,
    )
    set_etag(response, policy.version)
    return await service.read_policy(
        session, policy=policy, configured=settings.policy_approvers, caller=caller
    )


@router.post(
    "/escalation-policies/{policy_id}/submit",
    response_model=EscalationPolicyRead,
    responses={409: {"description": "Not a draft, or already submitted."}},
)
async def submit_escalation_policy(
    policy_id: uuid.UUID,
    session: SessionDep,
    caller: HrDep,
    settings: SettingsDep,
    response: ETagged,
    if_match: IfMatch,
) -> EscalationPolicyRead:
    """Submit a draft for approval (HR; `If-Match` required): approvers may now sign it off."""
    policy = await service.get_policy(session, policy_id=policy_id)
    check_if_match(if_match, current_version=policy.version)
    digest = await service.content_hash_of(session, policy=policy)
    policy = await approvals.submit(session, policy=policy, content_hash=digest, actor=caller)
    set_etag(response, policy.version)
    return await service.read_policy(
        session, policy=policy, configured=settings.policy_approvers, caller=caller
    )


@router.post(
    "/escalation-policies/{policy_id}/approve",
    response_model=EscalationPolicyRead,
    responses={
        403: {"description": "The caller is not that approver (or no approver at all)."},
        409: {"description": "Not a submitted draft, already approved, or the content changed."},
    },
)
async def approve_escalation_policy(
    policy_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    is_member: MembershipDep,
    data: VerdictIn,
) -> EscalationPolicyRead:
    """Approve the draft's current content as one of its approvers, with an optional comment."""
    return await _verdict(
        policy_id, session, caller, settings.policy_approvers, is_member, Verdict.APPROVED, data
    )


@router.post(
    "/escalation-policies/{policy_id}/reject",
    response_model=EscalationPolicyRead,
    responses={
        403: {"description": "The caller is not that approver (or no approver at all)."},
        409: {"description": "Not a submitted draft, already judged, or the content changed."},
    },
)
async def reject_escalation_policy(
    policy_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    is_member: MembershipDep,
    data: RejectionIn,
) -> EscalationPolicyRead:
    """Reject the draft's current content as one of its approvers, saying why (`comment`)."""
    return await _verdict(
        policy_id, session, caller, settings.policy_approvers, is_member, Verdict.REJECTED, data
    )


async def _verdict(
    policy_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    configured: list[str],
    is_member: MembershipDep,
    verdict: Verdict,
    data: VerdictIn,
) -> EscalationPolicyRead:
    policy = await service.get_policy(session, policy_id=policy_id)
    required = await approvals.required_approvers(session, configured=configured)
    await approvals.give_verdict(
        session,
        policy=policy,
        content_hash=await service.content_hash_of(session, policy=policy),
        required=required,
        caller=caller,
        is_member=is_member,
        verdict=verdict,
        approver=data.approver,
        comment=data.comment,
        seen_hash=data.content_hash,
    )
    return await service.read_policy(session, policy=policy, configured=configured, caller=caller)


@router.get("/escalation-policies/{policy_id}/timeline", response_model=Page[PolicyEventRead])
async def escalation_policy_timeline(
    policy_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    is_member: MembershipDep,
    page: PageParamsDep,
) -> Page[PolicyEventRead]:
    """Every step of a version, in order: drafted, edited, submitted, each verdict and its
    withdrawal, published, retired."""
    await check_reviewer(
        session, caller=caller, configured=settings.policy_approvers, is_member=is_member
    )
    policy = await service.get_policy(session, policy_id=policy_id)
    events, next_cursor = await approvals.timeline_of(session, policy_id=policy.id, page=page)
    return Page(
        items=[PolicyEventRead.model_validate(event) for event in events],
        next_cursor=next_cursor,
    )


@router.post(
    "/escalation-policies/{policy_id}/replay",
    response_model=ReplayRead,
    responses={
        202: {
            "model": ReplayRead,
            "description": "A large window: replaying in the background.",
            "headers": {
                "Location": {
                    "description": "Where to follow the replay's progress.",
                    "schema": {"type": "string"},
                }
            },
        },
        409: {"description": "The version is not a draft."},
        422: {"description": "No decided incident in the window, or a bad window."},
    },
)
async def replay_escalation_policy(
    policy_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    is_member: MembershipDep,
    request: Request,
    response: Response,
    data: ReplayIn,
) -> ReplayRead:
    """What the draft would have decided for the incidents of a past window (default the
    last 12 months), on the facts each decision recorded: how many decisions change and how.
    A large window runs in the background (202; follow `Location` for the progress)."""
    await check_reviewer(
        session, caller=caller, configured=settings.policy_approvers, is_member=is_member
    )
    policy = await service.get_policy(session, policy_id=policy_id)
    approvals.ensure_draft(policy, doing="replay")
    digest = await service.content_hash_of(session, policy=policy)
    since, until = replays.window_of(data.since, data.until)
    total = await replays.decided_in_window(session, since=since, until=until)
    replay = replays.new_replay(
        policy=policy,
        content_hash=digest,
        requested_by=caller.person_id,
        since=since,
        until=until,
        total=total,
    )
    if total <= settings.replay_inline_limit:
        replays.finish(
            replay,
            result=await replays.compute(
                lambda: nullcontext(session),
                request.app.state.gateway,
                policy_id=policy.id,
                since=since,
                until=until,
            ),
        )
    session.add(replay)
    await session.flush()
    if replay.status is not ReplayStatus.DONE:
        call_after_commit(session, request.app.state.replayer.wake)
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = (
            f"{router.prefix}/escalation-policies/{policy.id}/replays/{replay.id}"
        )
    return replays.present(replay, current_hash=digest, show_ids=service.sees_incident_ids(caller))


@router.get("/escalation-policies/{policy_id}/replays/{replay_id}", response_model=ReplayRead)
async def get_escalation_policy_replay(
    policy_id: uuid.UUID,
    replay_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    is_member: MembershipDep,
) -> ReplayRead:
    """A replay: its progress while it runs, then what the draft would change."""
    await check_reviewer(
        session, caller=caller, configured=settings.policy_approvers, is_member=is_member
    )
    policy = await service.get_policy(session, policy_id=policy_id)
    replay = await replays.get_replay(session, policy_id=policy.id, replay_id=replay_id)
    digest = await service.content_hash_of(session, policy=policy)
    return replays.present(replay, current_hash=digest, show_ids=service.sees_incident_ids(caller))


@router.get("/escalation-policies/{policy_id}/references", response_model=list[ReferenceIndexRead])
async def escalation_policy_references(
    policy_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    is_member: MembershipDep,
) -> list[ReferenceIndexRead]:
    """Which clauses of the organisation's other policies the version's rules refer to, and
    which rules refer to each (HR, legal, policy owners, approvers)."""
    await check_reviewer(
        session, caller=caller, configured=settings.policy_approvers, is_member=is_member
    )
    policy = await service.get_policy(session, policy_id=policy_id)
    return await service.references_of(session, policy=policy)


@router.get("/escalation-policy/approvers", response_model=ApproversRead)
async def get_escalation_policy_approvers(
    session: SessionDep, caller: PolicyReaderDep, settings: SettingsDep
) -> ApproversRead:
    """Who must approve a version before it is published: the settings' and HR's additions."""
    return await _approvers(session, settings.policy_approvers)


@router.put("/escalation-policy/approvers", response_model=ApproversRead)
async def set_escalation_policy_approvers(
    session: SessionDep, caller: HrDep, settings: SettingsDep, data: ApproversUpdate
) -> ApproversRead:
    """Set the approvers HR adds (a works council: `group:<name>`); the settings' stay (HR)."""
    await approvals.set_added_approvers(
        session, configured=settings.policy_approvers, approvers=data.approvers, actor=caller
    )
    return await _approvers(session, settings.policy_approvers)


async def _approvers(session: SessionDep, configured: list[str]) -> ApproversRead:
    return ApproversRead(
        configured=configured,
        added=[
            AddedApproverRead.model_validate(row)
            for row in await approvals.added_approvers(session)
        ],
        required=await approvals.required_approvers(session, configured=configured),
    )


@router.post("/escalation-policy/dry-run", response_model=DryRunResult)
async def dry_run_escalation_policy(
    session: SessionDep, caller: PolicyReaderDep, facts: DryRunFacts
) -> DryRunResult:
    """Which rule would decide an incident with these facts, and why. Nothing is stored."""
    policy, rules, evaluation = await service.dry_run(session, facts=facts)
    by_position = {rule.position: rule for rule in rules}
    rule = by_position.get(evaluation.rule_position) if evaluation.rule_position else None
    return DryRunResult(
        policy_id=policy.id,
        policy_number=policy.number,
        result=evaluation.result,
        explanation=evaluation.explain(),
        rule=EscalationRuleRead.model_validate(rule) if rule else None,
        checks=[
            RuleCheckRead(
                position=check.position,
                name=check.name,
                verdict=check.verdict,
                conditions=[
                    ConditionRead(name=c.name, met=c.met, detail=c.detail) for c in check.conditions
                ],
            )
            for check in evaluation.checks
        ],
    )
