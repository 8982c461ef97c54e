"""``/healthz`` (the process is alive; touches nothing) and ``/readyz`` (it can serve:
database reachable and migrated to head, plus any check the app adds, such as the
gateway's upstreams)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from kit.db import Database
from kit.errors import ProblemResponse, problem_response
from kit.migrations import current_revisions


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    detail: str


ReadinessCheck = Callable[[], Awaitable[CheckResult]]


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


def database_checks(database: Database, heads: frozenset[str] | None) -> dict[str, ReadinessCheck]:
    """``heads`` is None for a database not managed by migrations (the kit's test app)."""

    async def reachable() -> CheckResult:
        try:
            async with database.transaction(write=False) as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready", with the reason
            return CheckResult(False, f"unreachable: {type(exc).__name__}")
        return CheckResult(True, "ok")

    async def migrated() -> CheckResult:
        try:
            async with database.transaction(write=False) as session:
                current = await current_revisions(session)
        except Exception as exc:
            return CheckResult(False, f"unknown: {type(exc).__name__}")
        if current != heads:
            return CheckResult(
                False,
                f"at {sorted(current) or 'nothing'}, head is {sorted(heads or ())}: run migrate",
            )
        return CheckResult(True, "ok")

    if heads is None:
        return {"database": reachable}
    return {"database": reachable, "migrations": migrated}


router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: the process answers. Touches no dependency."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"description": "Not ready; `checks` says why."}},
)
async def readyz(request: Request) -> JSONResponse | ProblemResponse:
    """Readiness: database reachable and migrated, and every app-specific check passes."""
    checks: dict[str, ReadinessCheck] = request.app.state.readiness_checks
    results = {name: await check() for name, check in checks.items()}
    summary = {name: result.detail for name, result in results.items()}
    if all(result.ok for result in results.values()):
        return JSONResponse({"status": "ready", "checks": summary})
    failing = ", ".join(
        f"{name} ({result.detail})" for name, result in results.items() if not result.ok
    )
    return problem_response(
        status=503,
        slug="not-ready",
        title="Not ready",
        detail=f"Not ready: {failing}.",
        instance="/readyz",
        extensions={"checks": summary},
    )
