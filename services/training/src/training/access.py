"""Who may see whose training records (DESIGN §3 "Access")."""

from __future__ import annotations

import uuid

from kit.identity import Caller, Role
from training.directory import Directory

# Roles that read everyone's training records.
RECORD_READERS = (Role.HR, Role.ADMIN)
AUTHORS = (Role.POLICY_OWNER, Role.ADMIN)
# A quiz's answer key is the authors' alone: an admin runs the system, and reading the key
# would let anyone holding that role pass any quiz.
ANSWER_KEY_READERS = (Role.POLICY_OWNER,)


def is_author(caller: Caller) -> bool:
    return caller.has_role(*AUTHORS)


def may_read_answer_key(caller: Caller) -> bool:
    return caller.has_role(*ANSWER_KEY_READERS)


async def may_read_records_of(
    caller: Caller, person_id: uuid.UUID, *, directory: Directory
) -> bool:
    """The person, their manager, HR (and admin), and the coaching service."""
    if caller.is_person(person_id) or caller.has_role(*RECORD_READERS):
        return True
    if caller.is_service("coaching"):
        return True
    if caller.has_role(Role.MANAGER):
        return await directory.is_manager_of(caller.person_id, person_id)
    return False
