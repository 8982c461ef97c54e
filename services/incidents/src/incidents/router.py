"""Incidents HTTP routes, one router per sub-domain."""

from fastapi import APIRouter

from incidents.incident.router import router as incident_router
from incidents.policy.router import router as policy_router
from incidents.privacy import router as privacy_router
from incidents.stats.router import router as stats_router
from kit.audit import add_audit_route

router = APIRouter()
# Fixed paths first, so /escalation-policy or /audit is not taken for an incident id.
router.include_router(policy_router)
audit_router = APIRouter(prefix="/api/v1/incidents")
add_audit_route(audit_router)
router.include_router(audit_router)
router.include_router(privacy_router)
router.include_router(stats_router)
router.include_router(incident_router)
