"""Dependencies the incidents routes share."""

from typing import Annotated

from fastapi import Depends, Request

from incidents.decision.service import Outside
from incidents.decision.worker import Worker
from kit.db import SessionDep
from kit.identity import Caller, CallerDep, Role, require_roles


def worker_of(request: Request) -> Worker:
    worker: Worker = request.app.state.worker
    return worker


def outside_of(request: Request) -> Outside:
    """The gateway client (calls to coaching and the directory) and the retry schedule."""
    return worker_of(request).outside


WorkerDep = Annotated[Worker, Depends(worker_of)]
OutsideDep = Annotated[Outside, Depends(outside_of)]
HrDep = Annotated[Caller, Depends(require_roles(Role.HR))]
PolicyReaderDep = Annotated[Caller, Depends(require_roles(Role.HR, Role.LEGAL, Role.POLICY_OWNER))]

__all__ = ["CallerDep", "HrDep", "OutsideDep", "PolicyReaderDep", "SessionDep", "WorkerDep"]
