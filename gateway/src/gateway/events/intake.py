"""The gateway's event intake: events from every service's outbox (and the gateway's own
directory events) are recorded once, and what each means for people and integrators is
written in the same transaction: inbox entries now, e-mails and webhook deliveries as rows
their senders claim. An event handed over twice is recorded once (its id)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, insert, or_, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

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
    # Who holds a role is asked once per batch, however many of its events name the role.
    resolved: dict[tuple[object, ...], list[Person]] = {}
    for event in taken:
        await _dispatch(session, event=event, outgoing=outgoing, resolved=resolved)
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


async def _dispatch(
    session: AsyncSession,
    *,
    event: Event,
    outgoing: Outgoing,
    resolved: dict[tuple[object, ...], list[Person]],
) -> None:
    told: set[uuid.UUID] = set()
    inbox: list[dict[str, object]] = []
    mail: list[dict[str, object]] = []
    for audience in routing.audiences(event):
        key = (
            audience.people,
            audience.roles,
            audience.groups,
            audience.managers_of,
            audience.everyone,
            audience.never,
        )
        if key not in resolved:
            resolved[key] = await _resolve(
                session, audience=audience, group_roles=outgoing.group_roles
            )
        people = [person for person in resolved[key] if person.id not in told]
        told.update(person.id for person in people)
        if not people:
            continue
        link = f"{outgoing.public_url.rstrip('/')}{audience.path}" if audience.path else None
        context = {**audience.context, "link": link}
        if audience.about is not None:
            about = await session.get(Person, audience.about)
            context["person_name"] = about.display_name if about else None
        by_mail = await _wanting_email(session, people=people, kind=event.type, outgoing=outgoing)
        now = utcnow()
        # One rendering per language: everyone an audience names reads the same words.
        renderings: dict[str, messages.Rendered] = {}
        for person in people:
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
            if person.id in by_mail and person.email:
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
    session: AsyncSession, *, people: Sequence[Person], kind: str, outgoing: Outgoing
) -> set[uuid.UUID]:
    """Who of ``people`` gets this kind by e-mail: everyone for a mandatory kind, else
    those who did not opt out of it."""
    if not outgoing.email or not people:
        return set()
    ids = {person.id for person in people}
    if kind in outgoing.mandatory_email_kinds:
        return ids
    opted_out = await session.scalars(
        select(EmailOptOut.person_id).where(
            col(EmailOptOut.kind) == kind, col(EmailOptOut.person_id).in_(ids)
        )
    )
    return ids - set(opted_out.all())


async def _resolve(
    session: AsyncSession, *, audience: routing.Audience, group_roles: Mapping[str, str]
) -> list[Person]:
    """The active people an audience names, in a stable order."""
    who: list[ColumnElement[bool]] = []
    if audience.people:
        who.append(col(Person.id).in_(audience.people))
    roles = [Role(role) for role in audience.roles if role in Role.__members__.values()]
    if roles:
        who.append(holding_any_role(roles, group_roles=group_roles))
    if audience.groups:
        who.append(member_of_any(audience.groups))
    if audience.everyone:
        who.append(true())
    if audience.managers_of:
        managers = select(Person.manager_id).where(col(Person.id).in_(audience.managers_of))
        who.append(col(Person.id).in_(managers.scalar_subquery()))
    if not who:
        return []
    statement = select(Person).where(col(Person.active).is_(True), or_(*who))
    if audience.never:
        statement = statement.where(col(Person.id).not_in(audience.never))
    return list(await session.scalars(statement.order_by(col(Person.created_at), col(Person.id))))
