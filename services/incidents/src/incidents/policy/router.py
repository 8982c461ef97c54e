"""Escalation policy routes: parse, authorise, call the service, return."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from incidents.deps import CallerDep, HrDep, PolicyReaderDep, SessionDep
from incidents.policy import service
from incidents.policy.schemas import (
    ConditionRead,
    DryRunFacts,
    DryRunResult,
    EscalationPolicyDraft,
    EscalationPolicyRead,
    EscalationPolicySummary,
    EscalationPolicyUpdate,
    EscalationRuleRead,
    RuleCheckRead,
)
from kit.concurrency import IfMatchHeader, set_etag
from kit.pagination import Page, PageParamsDep

router = APIRouter(prefix="/api/v1/incidents", tags=["escalation policy"])


@router.get("/escalation-policy", response_model=EscalationPolicyRead)
async def get_escalation_policy(
    session: SessionDep, caller: CallerDep, response: Response
) -> EscalationPolicyRead:
    """The published escalation policy: the rules that decide what happens to an incident."""
    policy = await service.published_policy(session)
    set_etag(response, policy.version)
    return await service.read_policy(session, policy=policy)


@router.get("/escalation-policies", response_model=Page[EscalationPolicySummary])
async def list_escalation_policies(
    session: SessionDep, caller: PolicyReaderDep, page: PageParamsDep
) -> Page[EscalationPolicySummary]:
    """Every version of the policy (draft, published, retired), newest first."""
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
    session: SessionDep, caller: HrDep, data: EscalationPolicyDraft, response: Response
) -> EscalationPolicyRead:
    """Start a draft (HR): the rules given, or a copy of the published policy."""
    draft = await service.create_draft(session, data=data, author_id=caller.person_id)
    set_etag(response, draft.version)
    return await service.read_policy(session, policy=draft)


@router.get("/escalation-policies/{policy_id}", response_model=EscalationPolicyRead)
async def get_escalation_policy_version(
    policy_id: uuid.UUID, session: SessionDep, caller: PolicyReaderDep, response: Response
) -> EscalationPolicyRead:
    """One version of the policy with its rules."""
    policy = await service.get_policy(session, policy_id=policy_id)
    set_etag(response, policy.version)
    return await service.read_policy(session, policy=policy)


@router.put(
    "/escalation-policies/{policy_id}",
    response_model=EscalationPolicyRead,
    responses={409: {"description": "The version is not a draft."}},
)
async def update_escalation_policy_draft(
    policy_id: uuid.UUID,
    session: SessionDep,
    caller: HrDep,
    data: EscalationPolicyUpdate,
    response: Response,
    if_match: IfMatchHeader = None,
) -> EscalationPolicyRead:
    """Replace a draft's rules and notes (HR; `If-Match` required)."""
    policy = await service.update_draft(session, policy_id=policy_id, data=data, if_match=if_match)
    set_etag(response, policy.version)
    return await service.read_policy(session, policy=policy)


@router.post(
    "/escalation-policies/{policy_id}/publish",
    response_model=EscalationPolicyRead,
    responses={409: {"description": "The version is not a draft."}},
)
async def publish_escalation_policy(
    policy_id: uuid.UUID,
    session: SessionDep,
    caller: HrDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> EscalationPolicyRead:
    """Publish a draft (HR; `If-Match` required): new decisions use it from now on."""
    policy = await service.publish(
        session, policy_id=policy_id, if_match=if_match, publisher_id=caller.person_id
    )
    set_etag(response, policy.version)
    return await service.read_policy(session, policy=policy)


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
