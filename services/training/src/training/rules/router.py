"""Assignment rule routes: parse, authorise, call the service, return."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Request, status

from kit.errors import Forbidden
from kit.identity import CallerDep
from kit.pagination import Page, PageParamsDep
from training.deps import API_PREFIX, AssignerDep, DirectoryDep, SessionDep, SettingsDep
from training.rules import service
from training.rules.schemas import Reconciliation, RuleCreate, RuleCreated, RuleRead

router = APIRouter(prefix=API_PREFIX, tags=["assignments"])
# Service-to-service only, outside the public API (not in the OpenAPI document).
internal_router = APIRouter(include_in_schema=False)
# The gateway's hint after a directory change (gateway.events.directory.TrainingHints).
DIRECTORY_CHANGED_PATH = "/internal/directory-changed"


@router.post(
    "/assignment-rules",
    response_model=RuleCreated,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The module has no published version."}},
)
async def create_rule(
    data: RuleCreate, session: SessionDep, caller: AssignerDep, directory: DirectoryDep
) -> RuleCreated:
    """Assign a module to a department, a group, everyone or named people, and keep it
    true as people join, move and leave (policy owners, HR). Honours `Idempotency-Key`."""
    rule, result = await service.create_rule(
        session, data=data, directory=directory, created_by=caller.person_id
    )
    [read] = await service.rule_reads(session, [rule])
    return RuleCreated(rule=read, reconciliation=result)


@router.get("/assignment-rules", response_model=Page[RuleRead])
async def list_rules(
    session: SessionDep,
    caller: AssignerDep,
    page: PageParamsDep,
    module_id: uuid.UUID | None = None,
) -> Page[RuleRead]:
    """Assignment rules, oldest first; `module_id` (any version) narrows to one module."""
    rules, next_cursor = await service.list_rules(session, page=page, module_id=module_id)
    return Page(items=await service.rule_reads(session, rules), next_cursor=next_cursor)


@router.get("/assignment-rules/{rule_id}", response_model=RuleRead)
async def get_rule(rule_id: uuid.UUID, session: SessionDep, caller: AssignerDep) -> RuleRead:
    """One assignment rule (policy owners, HR)."""
    [read] = await service.rule_reads(session, [await service.get_rule(session, rule_id=rule_id)])
    return read


@router.delete("/assignment-rules/{rule_id}", response_model=RuleRead)
async def end_rule(rule_id: uuid.UUID, session: SessionDep, caller: AssignerDep) -> RuleRead:
    """Stop keeping the rule true (joiners no longer get the module); the assignments it
    made stay. Repeating it changes nothing."""
    rule = await service.end_rule(session, rule=await service.get_rule(session, rule_id=rule_id))
    [read] = await service.rule_reads(session, [rule])
    return read


@router.post("/assignment-rules/reconcile", response_model=Reconciliation)
async def reconcile(
    session: SessionDep, caller: AssignerDep, directory: DirectoryDep, settings: SettingsDep
) -> Reconciliation:
    """Compare every rule with the directory now and fix any drift, assign the module
    renewals and ask for the policy acknowledgement renewals coming due (it also runs
    periodically). Running it again changes nothing."""
    return await service.reconcile(
        session,
        directory=directory,
        renewal_lead=dt.timedelta(days=settings.renewal_lead_days),
    )


@internal_router.post(DIRECTORY_CHANGED_PATH, status_code=status.HTTP_202_ACCEPTED)
async def directory_changed(request: Request, caller: CallerDep) -> dict[str, str]:
    """The gateway's hint after a SCIM change: the reconciliation runs now (in the
    background, idempotent) instead of at its next period. The gateway only."""
    if not caller.is_service("gateway"):
        raise Forbidden("Only the gateway tells training that the directory changed.")
    await request.app.state.reconciler.due_now()
    return {"reconciliation": "due"}
