"""All coaching routes, under ``/api/v1/coaching``; each sub-domain has its own router."""

from fastapi import APIRouter

from coaching.ambassadors.router import router as ambassadors
from coaching.candidates.router import router as candidates
from coaching.coaches.router import router as coaches
from coaching.engagements.router import router as engagements
from coaching.measures.router import router as measures
from coaching.privacy import router as privacy
from coaching.stats.router import router as stats
from kit.audit import add_audit_route

router = APIRouter(prefix="/api/v1/coaching")
for sub_router in (coaches, engagements, ambassadors, candidates, measures, privacy, stats):
    router.include_router(sub_router)
add_audit_route(router)
