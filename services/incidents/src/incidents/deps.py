"""Dependencies the incidents routes share."""

from typing import Annotated

from fastapi import Depends, Request

from incidents.decision.service import Outside
from incidents.decision.worker import Worker
from kit.db import Database, SessionDep, database_of
from kit.identity import Caller, CallerDep, Role, require_roles


async def worker_of(request: Request) -> Worker:
    worker: Worker = request.app.state.worker
    return worker


async def outside_of(request: Request) -> Outside:
    """The gateway client (calls to coaching and the directory) and the retry schedule."""
    worker: Worker = request.app.state.worker
    return worker.outside


# The routes that decide an incident call coaching and the directory, which must not
# happen inside a write transaction (SessionDep holds one for the whole request: on SQLite
# the database-wide write lock). They take the database and open short transactions
# around those calls themselves (see ``incidents.decision.service.decide``).
DatabaseDep = Annotated[Database, Depends(database_of)]
WorkerDep = Annotated[Worker, Depends(worker_of)]
OutsideDep = Annotated[Outside, Depends(outside_of)]
HrDep = Annotated[Caller, Depends(require_roles(Role.HR))]
PolicyReaderDep = Annotated[Caller, Depends(require_roles(Role.HR, Role.LEGAL, Role.POLICY_OWNER))]

__all__ = [
    "CallerDep",
    "DatabaseDep",
    "HrDep",
    "OutsideDep",
    "PolicyReaderDep",
    "SessionDep",
    "WorkerDep",
]
