"""Erasure: every service deletes or anonymises what it holds about a person, then the
directory forgets them and keeps a tombstone.

An erasure is a row worked in leased rounds (``kit.jobs``): the request only records it;
a loop in every gateway process claims due erasures and carries out their steps in order
(training, coaching, incidents, then the directory). Each step is recorded done, with the
service's answer (counts erased, what was kept and why), in a transaction of its own once
the service has answered, so a gateway killed mid-way (kill -9) leaves the erasure leased
and unfinished: when the lease ends any gateway takes it over and asks again from the
first step not recorded. Services answer a repeated step by erasing nothing more.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from gateway.errors import PersonNotFound
from gateway.models import GroupMember, Person, PersonEmail
from gateway.privacy.models import ErasedPerson, ErasureStatus, PrivacyErasure
from gateway.proxy import Upstream
from kit.audit import AuditAction, AuditRecord
from kit.db import Database, table_of, utcnow
from kit.errors import NotFound
from kit.failpoints import crash_point
from kit.identity import Caller, InternalTokenSigner, PrincipalKind
from kit.jobs import Backoff, claim_due, seconds_until_due
from kit.privacy import ERASE_PATH, ERASED_PERSON_ID

logger = logging.getLogger("gateway.privacy")

SERVICE_STEPS = ("training", "coaching", "incidents")
DIRECTORY_STEP = "directory"
STEPS = (*SERVICE_STEPS, DIRECTORY_STEP)
LEASE = dt.timedelta(seconds=60)
BACKOFF = Backoff(base_seconds=5, cap_seconds=600)
BATCH = 10
ERASED_NAME = "Erased person"


class ErasureNotFound(NotFound):
    slug = "erasure-not-found"
    title = "Erasure not found"


def identifier_hash(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


async def is_erased(session: AsyncSession, *, user_name: str, external_id: str | None) -> bool:
    """Whether SCIM is about to recreate an erased person."""
    conditions = [col(ErasedPerson.user_name_hash) == identifier_hash(user_name)]
    if external_id:
        conditions.append(col(ErasedPerson.external_id_hash) == identifier_hash(external_id))
    return (
        await session.scalar(select(ErasedPerson.person_id).where(or_(*conditions)).limit(1))
    ) is not None


async def request_erasure(
    session: AsyncSession, *, caller: Caller, person_id: uuid.UUID, reason: str
) -> PrivacyErasure:
    if await session.get(Person, person_id) is None:
        raise PersonNotFound(f"There is no person {person_id} in the directory.")
    erasure = PrivacyErasure(person_id=person_id, requested_by=caller.principal_key, reason=reason)
    session.add(erasure)
    await session.flush()
    return erasure


async def get_erasure(session: AsyncSession, *, erasure_id: uuid.UUID) -> PrivacyErasure:
    erasure = await session.get(PrivacyErasure, erasure_id)
    if erasure is None:
        raise ErasureNotFound(f"There is no erasure {erasure_id}.")
    return erasure


class Eraser:
    """Claims due erasures and carries out their remaining steps."""

    def __init__(
        self,
        database: Database,
        *,
        upstreams: Mapping[str, Upstream],
        signer: InternalTokenSigner,
        audit: Any,
        lease: dt.timedelta = LEASE,
    ) -> None:
        self.database = database
        self.upstreams = upstreams
        self.signer = signer
        self.audit = audit
        self.lease = lease

    async def run_due(self) -> float:
        """One round: every due erasure, as far as it goes. Seconds until the next look."""
        table = table_of(PrivacyErasure)
        pending = table.c.status == ErasureStatus.PENDING.value
        async with self.database.transaction() as session:
            claimed = await claim_due(
                session, table, limit=BATCH, lease=self.lease, where=[pending]
            )
        for row in claimed:
            await self._carry_out(row.id)
        async with self.database.transaction(write=False) as session:
            # A leased one (cut short by a crash) is due when its lease ends.
            return await seconds_until_due(session, table, at_most=30.0, where=[pending])

    async def _carry_out(self, erasure_id: uuid.UUID) -> None:
        async with self.database.transaction(write=False) as session:
            erasure = await get_erasure(session, erasure_id=erasure_id)
            done, person_id = dict(erasure.outcomes), erasure.person_id
        try:
            for step in STEPS:
                if step in done:
                    continue
                if step == DIRECTORY_STEP:
                    await self._directory(erasure_id, person_id, done)
                else:
                    outcome = await self._ask(step, person_id)
                    done[step] = outcome
                    await self._record(erasure_id, done)
                crash_point(f"erasure.after_{step}")
        except Exception as exc:  # a service away: try again later, from this step
            logger.warning("erasure step failed", extra={"erasure_id": str(erasure_id)})
            await self._retry(erasure_id, str(exc) or type(exc).__name__)

    async def _ask(self, service: str, person_id: uuid.UUID) -> dict[str, Any]:
        upstream = self.upstreams[service]
        token = self.signer.sign(
            audience=service, subject="service:gateway", kind=PrincipalKind.SERVICE
        )
        path = f"/api/v1/{service}{ERASE_PATH.format(person_id=person_id)}"
        answer = await upstream.fetch_json(
            path, headers={"Authorization": f"Bearer {token}"}, method="POST"
        )
        return dict(answer)

    async def _record(self, erasure_id: uuid.UUID, done: dict[str, Any]) -> None:
        async with self.database.transaction() as session:
            erasure = await get_erasure(session, erasure_id=erasure_id)
            erasure.outcomes = dict(done)
            session.add(erasure)

    async def _directory(
        self, erasure_id: uuid.UUID, person_id: uuid.UUID, done: dict[str, Any]
    ) -> None:
        """The last step, in one transaction: the person's directory record anonymised
        (kept, deactivated, so every reference still resolves), their groups left, a
        tombstone written, the erasure done and audited."""
        async with self.database.transaction() as session:
            erasure = await get_erasure(session, erasure_id=erasure_id)
            person = await session.get(Person, person_id)
            erased = {"directory_record": 0, "group_memberships": 0, "email_addresses": 0}
            if person is not None and person.user_name != f"erased-{person_id}":
                if await session.get(ErasedPerson, person_id) is None:
                    session.add(
                        ErasedPerson(
                            person_id=person_id,
                            user_name_hash=identifier_hash(person.user_name),
                            external_id_hash=identifier_hash(person.external_id)
                            if person.external_id
                            else None,
                        )
                    )
                left = await session.execute(
                    delete(table_of(GroupMember)).where(
                        table_of(GroupMember).c.person_id == person_id
                    )
                )
                await session.execute(
                    update(table_of(Person))
                    .where(table_of(Person).c.manager_id == person_id)
                    .values(manager_id=None)
                )
                person.user_name = f"erased-{person_id}"
                person.external_id = None
                person.given_name = person.family_name = person.email = None
                person.name_formatted = person.middle_name = None
                person.honorific_prefix = person.honorific_suffix = None
                person.preferred_language = None
                addresses = await session.execute(
                    delete(table_of(PersonEmail)).where(
                        table_of(PersonEmail).c.person_id == person_id
                    )
                )
                person.display_name = ERASED_NAME
                person.scim_display_name = None
                person.department = person.title = person.employee_number = None
                person.manager_id = None
                person.locale = None
                person.active = False
                person.deleted_at = person.deleted_at or utcnow()
                person.updated_at = utcnow()
                session.add(person)
                erased = {
                    "directory_record": 1,
                    "group_memberships": int(getattr(left, "rowcount", 0) or 0),
                    "email_addresses": int(getattr(addresses, "rowcount", 0) or 0),
                }
            done[DIRECTORY_STEP] = {"erased": erased, "kept": []}
            erasure.outcomes = dict(done)
            erasure.status = ErasureStatus.DONE
            erasure.finished_at = utcnow()
            erasure.leased_until = None
            session.add(erasure)
            await self.audit.append(
                session,
                AuditRecord(
                    actor=erasure.requested_by,
                    action=AuditAction.PERSON_ERASED,
                    object_type="erasure",
                    object_id=str(erasure.id),
                    person_id=person_id,
                    detail=erasure.reason[:200],
                    route="erasure job",
                ),
            )

    async def _retry(self, erasure_id: uuid.UUID, error: str) -> None:
        async with self.database.transaction() as session:
            erasure = await get_erasure(session, erasure_id=erasure_id)
            erasure.attempts += 1
            erasure.last_error = error[:500]
            erasure.next_attempt_at = utcnow() + BACKOFF.delay(erasure.attempts)
            erasure.leased_until = None
            session.add(erasure)


__all__ = ["ERASED_PERSON_ID", "Eraser", "is_erased", "request_erasure"]
