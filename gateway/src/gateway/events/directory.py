"""The gateway's own events: what SCIM changes in the directory, taken in like any
service's event (recorded once, delivered to subscribed webhooks) in the transaction of
the change. The payload carries ids and the directory facts a subscriber routes on."""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.events import intake
from gateway.models import Person
from kit.db import utcnow
from kit.outbox import Event

Change = Literal["created", "updated", "deactivated"]


async def person_changed(
    session: AsyncSession, *, outgoing: intake.Outgoing, person: Person, change: Change
) -> None:
    event = Event(
        id=uuid.uuid4(),
        type=f"directory.person.{change}",
        source="gateway",
        occurred_at=utcnow(),
        data={
            "person_id": str(person.id),
            "external_id": person.external_id,
            "active": person.active,
            "department": person.department,
            "manager_id": str(person.manager_id) if person.manager_id else None,
        },
    )
    await intake.take_in(session, events=[event], outgoing=outgoing)
