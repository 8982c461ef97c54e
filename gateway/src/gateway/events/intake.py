"""The gateway's event intake: events from every service's outbox (and the gateway's own
directory events) are recorded once, and what each means for people and integrators is
written in the same transaction: inbox entries now, e-mails and webhook deliveries as rows
their senders claim. An event handed over twice is recorded once (its id)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, or_, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from gateway.events import messages, routing
from gateway.events.models import EmailMessage, EmailOptOut, Notification, ReceivedEvent
from gateway.models import Person
from gateway.service import holding_any_role, member_of_any
from gateway.webhooks import service as webhooks
from kit.db import call_after_commit, table_of, utcnow
from kit.identity import Role
from kit.jobs import Handover
from kit.outbox import Event


@dataclass(slots=True)
class Outgoing:
    """What the intake needs beyond the database: where links point, how groups give
    roles, and the senders to wake once the intake's transaction has committed."""

    public_url: str
    group_roles: Mapping[str, str]
    # E-mail a copy of each notification (unless the person opted out of its kind and
    # the kind is not mandatory).
    email: bool = True
    mandatory_email_kinds: frozenset[str] = frozenset()
    on_commit: list[Callable[[], None]] = field(default_factory=list)
    # This process's senders, handed what the intake queues once it has committed.
    mail_handover: Handover | None = None
    webhook_handover: Handover | None = None
    # Called once a directory change (SCIM) has committed: training's hint.
    on_directory_change: list[Callable[[], None]] = field(default_factory=list)


async def take_in(session: AsyncSession, *, events: Sequence[Event], outgoing: Outgoing) -> int:
    """Record the events not seen before and what follows from each; how many were new."""
    if not events:
        return 0
    new = await _record_new(session, events)
    taken = [event for event in {event.id: event for event in events}.values() if event.id in new]
    routed = [(event, routing.audiences(event)) for event in taken]
    # The directory is asked once per batch, however many events name the same people.
    directory = await _Directory.load(session, routed, group_roles=outgoing.group_roles)
    told = [(event, _told(directory, audiences)) for event, audiences in routed]
    by_mail = await _wanting_email(session, told=told, outgoing=outgoing)
    await _write_messages(
        session, told=told, by_mail=by_mail, directory=directory, outgoing=outgoing
    )
    await webhooks.queue_deliveries(session, events=taken, handover=outgoing.webhook_handover)
    if new:
        for wake in outgoing.on_commit:
            call_after_commit(session, wake)
    return len(new)


async def _record_new(session: AsyncSession, events: Sequence[Event]) -> set[uuid.UUID]:
    table = table_of(ReceivedEvent)
    now = utcnow()
    rows = [
        {
            "id": event.id,
            "type": event.type,
            "source": event.source,
            "occurred_at": event.occurred_at,
            "received_at": now,
            "data": event.data,
        }
        for event in {event.id: event for event in events}.values()
    ]
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    statement = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    # Rows as parameters, not ``.values(rows)``: one statement compiled once, where a
    # multi-row VALUES was compiled again for every batch size.
    result = await session.scalars(
        statement.on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id), rows
    )
    return set(result.all())


# What a message needs of a person: columns, not ORM objects (a batch may name everyone).
_RECIPIENT = (
    col(Person.id),
    col(Person.email),
    col(Person.preferred_language),
    col(Person.locale),
    col(Person.display_name),
    col(Person.active),
    col(Person.created_at),
)


# A row of ``_RECIPIENT``.
_Recipient = Any


def _beyond_ids(audience: routing.Audience) -> tuple[object, ...]:
    """What of an audience the directory resolves by a query (roles, groups, managers,
    everyone): audiences that name the same are resolved once per batch."""
    return (
        tuple(sorted(audience.roles)),
        tuple(sorted(audience.groups)),
        audience.managers_of,
        audience.everyone,
    )


@dataclass(slots=True)
class _Directory:
    """The people a batch of events names, asked in one query: everyone named by id, and
    everyone each distinct role/group/manager audience names (a column per audience says
    who it takes)."""

    by_id: dict[uuid.UUID, _Recipient]
    beyond_ids: dict[tuple[object, ...], list[_Recipient]]

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        routed: Sequence[tuple[Event, Sequence[routing.Audience]]],
        *,
        group_roles: Mapping[str, str],
    ) -> _Directory:
        audiences = [audience for _, found in routed for audience in found]
        ids = {i for a in audiences for i in (*a.people, *([a.about] if a.about else []))}
        beyond_ids: dict[tuple[object, ...], list[_Recipient]] = {}
        takes: dict[tuple[object, ...], ColumnElement[bool]] = {}
        for audience in audiences:
            key = _beyond_ids(audience)
            if key in beyond_ids:
                continue
            beyond_ids[key] = []
            who = _who(audience, group_roles=group_roles)
            if who is not None:
                takes[key] = and_(col(Person.active).is_(True), who)
        by_id: dict[uuid.UUID, _Recipient] = {}
        wanted = [*([col(Person.id).in_(ids)] if ids else []), *takes.values()]
        if not wanted:
            return cls(by_id=by_id, beyond_ids=beyond_ids)
        columns = [take.label(f"takes_{n}") for n, take in enumerate(takes.values())]
        rows = await session.execute(select(*_RECIPIENT, *columns).where(or_(*wanted)))
        for row in rows:
            if row.id in ids:
                by_id[row.id] = row
            for n, key in enumerate(takes):
                if row[len(_RECIPIENT) + n]:
                    beyond_ids[key].append(row)
        return cls(by_id=by_id, beyond_ids=beyond_ids)

    def people(self, audience: routing.Audience) -> list[_Recipient]:
        """The active people ``audience`` names, but not its ``never``, in a stable order."""
        found = {row.id: row for row in self.beyond_ids[_beyond_ids(audience)]}
        for person_id in audience.people:
            row = self.by_id.get(person_id)
            if row is not None and row.active:
                found[row.id] = row
        return sorted(
            (row for row in found.values() if row.id not in audience.never),
            key=lambda row: (row.created_at, row.id),
        )

    def name_of(self, person_id: uuid.UUID) -> str | None:
        row = self.by_id.get(person_id)
        return row.display_name if row is not None else None


@dataclass(slots=True)
class _Told:
    audience: routing.Audience
    people: list[_Recipient]


def _told(directory: _Directory, audiences: Sequence[routing.Audience]) -> list[_Told]:
    """Who each audience of one event tells: one message per person and event, the first
    audience that names them wins."""
    seen: set[uuid.UUID] = set()
    told = []
    for audience in audiences:
        people = [row for row in directory.people(audience) if row.id not in seen]
        seen.update(row.id for row in people)
        if people:
            told.append(_Told(audience, people))
    return told


async def _write_messages(
    session: AsyncSession,
    *,
    told: Sequence[tuple[Event, Sequence[_Told]]],
    by_mail: set[tuple[uuid.UUID, str]],
    directory: _Directory,
    outgoing: Outgoing,
) -> None:
    """The inbox entries and e-mails of the whole batch, one insert each."""
    inbox: list[dict[str, object]] = []
    mail: list[dict[str, object]] = []
    now = utcnow()
    for event, audiences in told:
        # A later event of the batch is later in the inbox too (newest first).
        now = max(utcnow(), now + dt.timedelta(microseconds=1))
        for each in audiences:
            audience = each.audience
            link = f"{outgoing.public_url.rstrip('/')}{audience.path}" if audience.path else None
            context = {**audience.context, "link": link}
            if audience.about is not None:
                context["person_name"] = directory.name_of(audience.about)
            # One rendering per language: everyone an audience names reads the same words.
            renderings: dict[str, messages.Rendered] = {}
            for person in each.people:
                language = messages.language_of(person.preferred_language or person.locale)
                rendered = renderings.get(language)
                if rendered is None:
                    rendered = renderings[language] = messages.render(
                        audience.template, language=language, context=context
                    )
                common = {"person_id": person.id, "event_id": event.id, "kind": event.type}
                subject = rendered.subject[:300]
                inbox.append(
                    {
                        **common,
                        "id": uuid.uuid4(),
                        "subject": subject,
                        "body": rendered.text,
                        "link": link,
                        "created_at": now,
                        "read_at": None,
                    }
                )
                if (person.id, event.type) in by_mail and person.email:
                    mail.append(
                        {
                            **common,
                            "id": uuid.uuid4(),
                            "to_address": person.email,
                            "subject": subject,
                            "text": rendered.text,
                            "html": rendered.html,
                            "created_at": now,
                            "attempts": 0,
                            "next_attempt_at": now,
                            "leased_until": None,
                            "last_error": None,
                        }
                    )
    if inbox:
        await session.execute(insert(table_of(Notification)), inbox)
    if mail:
        if outgoing.mail_handover is not None:
            outgoing.mail_handover.lease_rows(session, mail)
        await session.execute(insert(table_of(EmailMessage)), mail)


async def _wanting_email(
    session: AsyncSession,
    *,
    told: Sequence[tuple[Event, Sequence[_Told]]],
    outgoing: Outgoing,
) -> set[tuple[uuid.UUID, str]]:
    """Who gets which kind by e-mail, as (person, kind): everyone told of a mandatory
    kind, else those who did not opt out of it (one query for the batch)."""
    if not outgoing.email:
        return set()
    wanted = {
        (person.id, event.type)
        for event, audiences in told
        for each in audiences
        for person in each.people
    }
    optional = {
        (person_id, kind)
        for person_id, kind in wanted
        if kind not in outgoing.mandatory_email_kinds
    }
    if not optional:
        return wanted
    opted_out = await session.execute(
        select(col(EmailOptOut.person_id), col(EmailOptOut.kind)).where(
            col(EmailOptOut.person_id).in_({person_id for person_id, _ in optional}),
            col(EmailOptOut.kind).in_({kind for _, kind in optional}),
        )
    )
    return wanted - {(row.person_id, row.kind) for row in opted_out}


def _who(
    audience: routing.Audience, *, group_roles: Mapping[str, str]
) -> ColumnElement[bool] | None:
    """Whom an audience names by role, group, manager or as everyone (those it names by
    id are taken by id), as a condition on ``people``; ``None``: no one that way."""
    who: list[ColumnElement[bool]] = []
    roles = [Role(role) for role in audience.roles if role in Role.__members__.values()]
    if roles:
        who.append(holding_any_role(roles, group_roles=group_roles))
    if audience.groups:
        who.append(member_of_any(audience.groups))
    if audience.everyone:
        who.append(true())
    if audience.managers_of:
        managers = select(col(Person.manager_id)).where(col(Person.id).in_(audience.managers_of))
        who.append(col(Person.id).in_(managers.scalar_subquery()))
    return or_(*who) if who else None
