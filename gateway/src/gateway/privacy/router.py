"""The gateway's data-protection routes, under ``/api/v1/privacy``."""

from fastapi import APIRouter

from kit.audit import add_audit_route

router = APIRouter(prefix="/api/v1/privacy")
add_audit_route(router)
