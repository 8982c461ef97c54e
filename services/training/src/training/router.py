"""Training HTTP routes: parse, authorise, call the service, return."""

from fastapi import APIRouter

from training import service
from training.deps import CallerDep, SessionDep
from training.schemas import PolicyVersionRead

router = APIRouter(prefix="/api/v1/training", tags=["training"])


@router.get("/policy", response_model=PolicyVersionRead)
async def get_current_policy(session: SessionDep, caller: CallerDep) -> PolicyVersionRead:
    """The current (published) social media policy with its numbered clauses."""
    return await service.current_policy(session)
