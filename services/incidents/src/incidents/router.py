"""Incidents HTTP routes: parse, authorise, call the service, return."""

from fastapi import APIRouter

from incidents import service
from incidents.deps import CallerDep, SessionDep
from incidents.schemas import EscalationPolicyRead

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


@router.get("/escalation-policy", response_model=EscalationPolicyRead)
async def get_escalation_policy(session: SessionDep, caller: CallerDep) -> EscalationPolicyRead:
    """The published escalation policy: the rules that decide what happens to an incident."""
    return await service.current_escalation_policy(session)
