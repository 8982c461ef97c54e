"""Training HTTP routes: one router per sub-domain, each under ``/api/v1/training``.

Each router carries the full prefix itself (rather than being nested in a parent router)
so that every route's path is its full template, which metrics and logs label by.
"""

from fastapi import APIRouter

from kit.audit import add_audit_route
from training.assignments.router import router as assignments
from training.community.router import router as community
from training.modules.router import router as modules
from training.policy.router import router as policy
from training.privacy import router as privacy
from training.quizzes.router import router as quizzes
from training.remedial.router import router as remedial
from training.reports.router import router as reports
from training.rules.router import internal_router as rules_internal
from training.rules.router import router as rules

# The access audit (what retention removed, as counts), for the privacy officer.
audit = APIRouter(prefix="/api/v1/training")
add_audit_route(audit)

routers = (
    audit,
    policy,
    modules,
    quizzes,
    assignments,
    rules,
    rules_internal,
    remedial,
    community,
    reports,
    privacy,
)
