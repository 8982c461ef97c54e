"""Who has signed off a version of the escalation policy: pure rules, no database.

A version is published only when every required approver (a role such as ``hr`` or
``legal``, or a directory group ``group:<name>`` such as a works council) has approved its
**current content**. A verdict binds to a hash of the rules and notes, so an edit after an
approval leaves that approval behind (it is withdrawn, visibly). The people who drafted or
edited the version cannot be the only approvers for a role: their own approval is kept,
but the role still needs someone else's. A rejection of the current content blocks
publishing until the content changes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from incidents.domain import DEFAULT_ON_DEADLINE_MISSED
from kit.fields import storable_text
from kit.identity import Role

GROUP_PREFIX = "group:"
MAX_GROUP_NAME = 100
# Everyone is an employee: "employee" as an approver would mean anyone may approve.
APPROVER_ROLES = tuple(role.value for role in Role if role is not Role.EMPLOYEE)
# What an approval agrees to: every field that changes what a decision does.
RULE_CONTENT = (
    "name",
    "severities",
    "categories",
    "min_prior_incidents",
    "min_completed_remedial",
    "window_days",
    "action",
    "contacts",
    "owner_role",
    "deadline_hours",
    "suspends_ambassador",
)


def check_approver(value: str) -> str:
    """An approver as written in settings or by HR, normalised; ``ValueError`` otherwise."""
    value = value.strip()
    if value.startswith(GROUP_PREFIX):
        name = value.removeprefix(GROUP_PREFIX).strip()
        if not name or len(name) > MAX_GROUP_NAME:
            raise ValueError(
                f"a group approver is `group:<name>` with a name of 1 to {MAX_GROUP_NAME} "
                f"characters, not {value!r}"
            )
        return GROUP_PREFIX + storable_text(name)
    if value in APPROVER_ROLES:
        return value
    raise ValueError(
        f"{value!r} is neither a role ({', '.join(APPROVER_ROLES)}) nor `group:<name>`"
    )


def group_of(approver: str) -> str | None:
    """The directory group's name for a ``group:<name>`` approver, else ``None``."""
    return approver.removeprefix(GROUP_PREFIX) if approver.startswith(GROUP_PREFIX) else None


def content_hash(*, notes: str | None, rules: Sequence[Any]) -> str:
    """The hash an approval binds to: the notes and the rules, in evaluation order."""
    content = {"notes": notes, "rules": [_rule_content(rule) for rule in rules]}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _rule_content(rule: Any) -> dict[str, Any]:
    content = {field: _plain(getattr(rule, field)) for field in RULE_CONTENT}
    # Only when there are any: approvals given before rules could refer to other policies
    # keep binding to the same content.
    references = [_reference(reference) for reference in getattr(rule, "references", [])]
    if references:
        content["references"] = references
    # Only when it is not the default, for the same reason.
    on_missed = [
        str(party) for party in getattr(rule, "on_deadline_missed", DEFAULT_ON_DEADLINE_MISSED)
    ]
    if on_missed != list(DEFAULT_ON_DEADLINE_MISSED):
        content["on_deadline_missed"] = on_missed
    return content


def _reference(reference: Any) -> dict[str, Any]:
    if isinstance(reference, dict):
        return {key: reference.get(key) for key in ("policy", "clause", "note")}
    return {key: getattr(reference, key) for key in ("policy", "clause", "note")}


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    if isinstance(value, StrEnum):
        return value.value
    return value


class VerdictLike(Protocol):
    @property
    def approver(self) -> str: ...
    @property
    def person_id(self) -> uuid.UUID: ...
    @property
    def verdict(self) -> str: ...
    @property
    def content_hash(self) -> str: ...


class ApproverState(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    AWAITING = "awaiting"


@dataclass(frozen=True, slots=True)
class Standing:
    approver: str
    state: ApproverState
    approved_by: tuple[uuid.UUID, ...]
    rejected_by: tuple[uuid.UUID, ...]
    # Only someone who drafted or edited the version approved: it does not count alone.
    drafter_only: bool

    def explain(self) -> str:
        if self.state is ApproverState.APPROVED:
            return f"{self.approver}: approved"
        if self.state is ApproverState.REJECTED:
            return f"{self.approver}: rejected the current content"
        if self.drafter_only:
            return (
                f"{self.approver}: only approved by someone who drafted this version; "
                "another approver for it must approve"
            )
        return f"{self.approver}: has not approved the current content"


def standings(
    required: Sequence[str],
    verdicts: Sequence[VerdictLike],
    *,
    content_hash: str,
    drafters: Collection[uuid.UUID],
) -> list[Standing]:
    """Where each required approver stands on ``content_hash``. ``verdicts`` are the
    version's verdicts still standing (not withdrawn); others' hashes are ignored."""
    result = []
    for approver in required:
        current = [v for v in verdicts if v.approver == approver and v.content_hash == content_hash]
        approved = tuple(v.person_id for v in current if v.verdict == "approved")
        rejected = tuple(v.person_id for v in current if v.verdict == "rejected")
        counted = [person for person in approved if person not in drafters]
        if rejected:
            state = ApproverState.REJECTED
        elif counted:
            state = ApproverState.APPROVED
        else:
            state = ApproverState.AWAITING
        result.append(
            Standing(
                approver=approver,
                state=state,
                approved_by=approved,
                rejected_by=rejected,
                drafter_only=bool(approved) and not counted,
            )
        )
    return result


def signed_off(standing: Sequence[Standing]) -> bool:
    return all(s.state is ApproverState.APPROVED for s in standing)
