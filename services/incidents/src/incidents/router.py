"""Incidents HTTP routes, one router per sub-domain."""

from fastapi import APIRouter

from incidents.incident.router import router as incident_router
from incidents.policy.router import router as policy_router

router = APIRouter()
# The policy's fixed paths first, so /escalation-policy is not taken for an incident id.
router.include_router(policy_router)
router.include_router(incident_router)
