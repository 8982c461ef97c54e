"""Who a decision contacts and who owns it: the rule's contacts and owner role, resolved to
people through the directory, with nobody handling a case they are a party to.

* ``manager``: the person's manager; ``hr``/``legal``: every active person holding the role;
  ``group:<name>``: every active member of the group.
* The person concerned is never contacted about, and never owns, their own incident; the
  reporter may be contacted (a manager who reported their own report is told as its
  manager) but never owns what they reported.
* When the person concerned is the only holder of a contacted role (or the only member of
  a contacted group), the contact goes one level up (HR -> legal, legal -> HR, a group ->
  HR); when no holder of the owner role is free of a conflict, ownership goes one level up
  (HR -> legal, legal -> HR, a manager or a coach -> HR). The decision records why
  (``conflict_of_interest`` on the contact, ``owner_conflict`` and ``owner_note``).
* A contact nobody answers to is recorded as unresolved (a role stays assigned to the
  role, so whoever holds it later sees it), never an error.

Raises ``UpstreamUnavailable`` when the directory cannot answer, before anything is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx

from incidents.decision import upstream
from incidents.decision.upstream import DirectoryPerson
from incidents.domain import GROUP_CONTACT_PREFIX, ContactKind, OwnerRole

ROLE_NAMES = {
    ContactKind.HR.value: "HR",
    ContactKind.LEGAL.value: "Legal",
    OwnerRole.COACH.value: "coaching",
    OwnerRole.MANAGER.value: "the manager",
}
# Where a contact or the ownership goes when nobody free of a conflict can take it.
NEXT_CONTACT = {ContactKind.HR: ContactKind.LEGAL, ContactKind.LEGAL: ContactKind.HR}
NEXT_OWNER = {
    OwnerRole.HR: OwnerRole.LEGAL,
    OwnerRole.LEGAL: OwnerRole.HR,
    OwnerRole.MANAGER: OwnerRole.HR,
    OwnerRole.COACH: OwnerRole.HR,
}


class Party(StrEnum):
    """Why someone may not handle an incident: they are a party to it."""

    PERSON_CONCERNED = "person_concerned"
    REPORTER = "reporter"


@dataclass(frozen=True, slots=True)
class Assignees:
    contacts: list[dict[str, Any]]
    owner_role: OwnerRole
    owner_id: uuid.UUID | None
    # Set when the owner is not the rule's: who had the conflict, and a sentence.
    owner_conflict: Party | None = None
    owner_note: str | None = None


@dataclass(slots=True)
class _Directory:
    """The directory as one decision sees it: each role's holders and the manager asked
    once, however many contacts and checks need them."""

    gateway: httpx.AsyncClient
    person_id: uuid.UUID
    person: DirectoryPerson | None
    _holders: dict[str, list[DirectoryPerson]] = field(default_factory=dict)
    _manager: DirectoryPerson | None = None
    _manager_known: bool = False

    async def manager(self) -> DirectoryPerson | None:
        if not self._manager_known:
            self.person = self.person or await upstream.find_person(self.gateway, self.person_id)
            person = self.person
            if person is not None and person.manager_id is not None:
                embedded = person.manager
                if embedded is not None and embedded.id == person.manager_id:
                    self._manager = embedded
                else:
                    self._manager = await upstream.find_person(self.gateway, person.manager_id)
            self._manager_known = True
        return self._manager

    async def holders(self, spec: str) -> list[DirectoryPerson]:
        """The active people holding the role ``spec``, or in the group ``group:<name>``."""
        if spec not in self._holders:
            if spec.startswith(GROUP_CONTACT_PREFIX):
                found = await upstream.group_members(
                    self.gateway, spec.removeprefix(GROUP_CONTACT_PREFIX)
                )
            else:
                found = await upstream.people_with_role(self.gateway, spec)
            self._holders[spec] = found
        return self._holders[spec]


async def resolve_assignees(
    gateway: httpx.AsyncClient,
    *,
    person_id: uuid.UUID,
    reporter_id: uuid.UUID,
    contacts: Sequence[str],
    owner_role: OwnerRole,
    person: DirectoryPerson | None = None,
) -> Assignees:
    """The people to contact and the owner, for the incident about ``person_id`` that
    ``reporter_id`` reported."""
    directory = _Directory(gateway, person_id=person_id, person=person)
    resolved: list[dict[str, Any]] = []
    for spec in contacts:
        resolved += await _contacts_for(directory, spec)
    owner = await _owner(directory, role=owner_role, reporter_id=reporter_id)
    return Assignees(contacts=_one_per_person(resolved), **owner)


async def _contacts_for(directory: _Directory, spec: str) -> list[dict[str, Any]]:
    if spec == ContactKind.MANAGER:
        return [_manager_contact(await directory.manager())]
    holders = await directory.holders(spec)
    people = [p for p in holders if p.id != directory.person_id]
    if people:
        return [_person_contact(spec, p) for p in people]
    if holders:  # the person concerned alone holds it: one level up
        return await _in_their_place(directory, spec)
    return [_unresolved(spec, _nobody_note(spec))]


async def _in_their_place(directory: _Directory, spec: str) -> list[dict[str, Any]]:
    """The contacts one level up from ``spec``, which only the person concerned holds."""
    kind = _kind_of(spec)
    instead = NEXT_CONTACT.get(kind, ContactKind.HR)
    note = (
        f"The person concerned is the only {_described(spec)}, so {ROLE_NAMES[instead]} "
        "was contacted in their place (conflict of interest)."
    )
    people = [p for p in await directory.holders(instead) if p.id != directory.person_id]
    base = {**_contact_base(instead.value, kind=instead, role=instead.value), "spec": spec}
    conflict = {"conflict_of_interest": True, "note": note}
    if not people:
        return [{**base, **conflict, "unresolved": True}]
    return [
        {**base, **conflict, "person_id": str(p.id), "display_name": p.display_name} for p in people
    ]


async def _owner(
    directory: _Directory, *, role: OwnerRole, reporter_id: uuid.UUID
) -> dict[str, Any]:
    """The owner: the manager in person, or a role; one level up (at most twice) when
    every holder is a party to the incident."""
    parties = {directory.person_id: Party.PERSON_CONCERNED, reporter_id: Party.REPORTER}
    conflict: Party | None = None
    passed: list[OwnerRole] = []
    while True:
        if role is OwnerRole.MANAGER:
            manager = await directory.manager()
            if manager is None:
                # No manager: HR owns it (no conflict, nothing to explain beyond the contact).
                role = OwnerRole.HR
                continue
            if manager.id not in parties:
                return _owner_fields(role, manager.id, conflict, passed)
            conflict = conflict or parties[manager.id]
        else:
            holders = await directory.holders(role.value)
            if not holders or any(p.id not in parties for p in holders):
                return _owner_fields(role, None, conflict, passed)
            conflict = conflict or next(parties[p.id] for p in holders)
        passed.append(role)
        role = NEXT_OWNER[role]
        if role in passed:  # every level is taken by a party: the first role keeps it
            kept = next(r for r in passed if r is not OwnerRole.MANAGER)
            return _owner_fields(kept, None, conflict, passed, stuck=True)


def _owner_fields(
    role: OwnerRole,
    owner_id: uuid.UUID | None,
    conflict: Party | None,
    passed: list[OwnerRole],
    *,
    stuck: bool = False,
) -> dict[str, Any]:
    fields: dict[str, Any] = {"owner_role": role, "owner_id": owner_id}
    if conflict is None:
        return fields
    who = "the person concerned" if conflict is Party.PERSON_CONCERNED else "a party to it"
    first = ROLE_NAMES[passed[0].value]
    if stuck:
        note = (
            f"Every holder of the roles it could pass to is {who}; it stays with "
            f"{first} (conflict of interest)."
        )
    else:
        note = f"{first} cannot own it ({who}); {ROLE_NAMES[role.value]} owns it instead "
        note += "(conflict of interest)."
    return {**fields, "owner_conflict": conflict, "owner_note": note}


def _one_per_person(contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A person contacted for several reasons is listed once, for the first."""
    seen: set[str] = set()
    kept = []
    for contact in contacts:
        person_id = contact["person_id"]
        if person_id is not None:
            if person_id in seen:
                continue
            seen.add(person_id)
        kept.append(contact)
    return kept


def _kind_of(spec: str) -> ContactKind:
    return ContactKind.GROUP if spec.startswith(GROUP_CONTACT_PREFIX) else ContactKind(spec)


def _described(spec: str) -> str:
    if spec.startswith(GROUP_CONTACT_PREFIX):
        return f"active member of the group {spec.removeprefix(GROUP_CONTACT_PREFIX)!r}"
    return f"holder of the {spec} role"


def _person_contact(spec: str, person: DirectoryPerson) -> dict[str, Any]:
    return {
        **_spec_base(spec),
        "person_id": str(person.id),
        "display_name": person.display_name,
    }


def _unresolved(spec: str, note: str) -> dict[str, Any]:
    return {**_spec_base(spec), "unresolved": True, "note": note}


def _spec_base(spec: str) -> dict[str, Any]:
    kind = _kind_of(spec)
    if kind is ContactKind.GROUP:
        return _contact_base(spec, kind=kind, group=spec.removeprefix(GROUP_CONTACT_PREFIX))
    return _contact_base(spec, kind=kind, role=spec)


def _manager_contact(manager: DirectoryPerson | None) -> dict[str, Any]:
    contact = _contact_base(ContactKind.MANAGER.value, kind=ContactKind.MANAGER)
    if manager is None:
        return {
            **contact,
            "unresolved": True,
            "note": "The person has no manager in the directory.",
        }
    return {**contact, "person_id": str(manager.id), "display_name": manager.display_name}


def _contact_base(
    spec: str, *, kind: ContactKind, role: str | None = None, group: str | None = None
) -> dict[str, Any]:
    return {
        "spec": spec,
        "kind": kind.value,
        "person_id": None,
        "display_name": None,
        "role": role,
        "group": group,
        "unresolved": False,
        "conflict_of_interest": False,
        "note": None,
    }


def _nobody_note(spec: str) -> str:
    if spec.startswith(GROUP_CONTACT_PREFIX):
        return (
            f"The group {spec.removeprefix(GROUP_CONTACT_PREFIX)!r} has no active members in "
            "the directory (or does not exist); nobody was contacted through it."
        )
    return (
        f"Nobody holds the {spec} role in the directory; the incident is assigned to the "
        "role, so whoever holds it sees it in their actions."
    )


def describe(contact: dict[str, Any]) -> str:
    """The timeline's sentence for one contact."""
    name = contact["display_name"]
    kind = contact["kind"]
    if kind == ContactKind.MANAGER:
        return f"Manager {name} contacted." if name else "Manager (none) contacted."
    if kind == ContactKind.GROUP:
        if name:
            return f"{name} contacted (group {contact['group']})."
        return f"Group {contact['group']}: no active members, nobody contacted."
    role_name = ROLE_NAMES[kind]
    instead = ""
    if contact.get("conflict_of_interest"):
        instead = f", in place of {contact['spec']}: conflict of interest"
    if name:
        return f"{name} contacted ({role_name}{instead})."
    return f"{role_name} contacted as a role (nobody holds it{instead})."
