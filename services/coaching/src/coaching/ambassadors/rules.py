"""Ambassador eligibility and who runs the program: plain functions of their inputs."""

from __future__ import annotations

import uuid

from coaching.models import ApplicationStatus
from coaching.schemas import Eligibility, EligibilityReason, Ineligibility
from kit.identity import Caller, Role

PROGRAM_OWNERS = (Role.POLICY_OWNER,)
# May see every application and suspended ambassadors; only policy owners decide.
PROGRAM_READERS = (Role.POLICY_OWNER, Role.HR)


def eligibility(
    person_id: uuid.UUID,
    *,
    training_completed: bool,
    open_remedial: bool,
    live_application: ApplicationStatus | None,
) -> Eligibility:
    """Eligible: the social media training passed (training's answer), no open remedial
    coaching, and no pending or approved application already."""
    reasons: list[EligibilityReason] = []
    if not training_completed:
        reasons.append(
            EligibilityReason(
                code=Ineligibility.TRAINING_NOT_COMPLETED,
                detail="The social media training is not passed yet: complete it (quiz "
                "included), then apply.",
            )
        )
    if open_remedial:
        reasons.append(
            EligibilityReason(
                code=Ineligibility.OPEN_REMEDIAL_ENGAGEMENT,
                detail="A remedial coaching engagement is open: apply once it is completed.",
            )
        )
    if live_application is not None:
        reasons.append(
            EligibilityReason(
                code=Ineligibility.ALREADY_APPLIED,
                detail=f"There is already an application that is {live_application}.",
            )
        )
    return Eligibility(person_id=person_id, eligible=not reasons, reasons=reasons)


def reads_program(caller: Caller) -> bool:
    return caller.has_role(*PROGRAM_READERS)


def may_ask_eligibility_of(caller: Caller, person_id: uuid.UUID) -> bool:
    return caller.is_person(person_id) or reads_program(caller)
