"""Who may read the versions of the escalation policy: HR, legal and policy owners, and
every approver the sign-off needs (a works council's members read the draft they approve)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from incidents.policy import approvals
from incidents.policy.signoff import group_of
from kit.errors import Forbidden
from kit.identity import Caller, Role

READER_ROLES = (Role.HR, Role.LEGAL, Role.POLICY_OWNER)


async def check_reviewer(
    session: AsyncSession,
    *,
    caller: Caller,
    configured: Sequence[str],
    is_member: Callable[[str], Awaitable[bool]],
) -> None:
    if caller.has_role(*READER_ROLES):
        return
    required = await approvals.required_approvers(session, configured=configured)
    for approver in required:
        group = group_of(approver)
        if caller.has_role(approver) if group is None else await is_member(group):
            return
    raise Forbidden(
        "Only HR, legal, policy owners and the policy's approvers "
        f"({', '.join(required)}) read its versions; everyone reads the published policy "
        "at GET /escalation-policy."
    )
