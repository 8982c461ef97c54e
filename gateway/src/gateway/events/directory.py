"""The gateway's own events: what SCIM changes in the directory, taken in like any
service's event (recorded once, delivered to subscribed webhooks) in the transaction of
the change. The payload carries ids and the directory facts a subscriber routes on."""

from __future__ import annotations

import logging
import uuid
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.events import intake
from gateway.models import Person
from kit.db import call_after_commit, utcnow
from kit.identity import InternalTokenSigner, PrincipalKind
from kit.jobs import Loop
from kit.outbox import Event

logger = logging.getLogger("gateway.events")

# Training's route that makes its assignment rules' reconciliation due now.
TRAINING_HINT_PATH = "/internal/directory-changed"
# Training away (starting, restarting): tell it again this soon; its periodic
# reconciliation covers a longer outage.
HINT_RETRY_SECONDS = 10.0
IDLE_SECONDS = 3600.0

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
    for hint in outgoing.on_directory_change:
        call_after_commit(session, hint)


class _Upstream(Protocol):
    async def fetch_json(
        self, target: str, *, headers: dict[str, str], method: str = "GET"
    ) -> Any: ...


class TrainingHints:
    """Tells training, once a directory change has committed, to reconcile its assignment
    rules now, so a joiner gets the rules' modules (and a leaver's open assignments close)
    within seconds instead of at the next periodic reconciliation. Many changes in a
    moment (an identity provider's sync) make one hint; a hint that does not reach
    training is sent again after ``HINT_RETRY_SECONDS``. Only a hint: the reconciliation
    reads the directory itself and is idempotent, and its periodic pass stays the net for
    anything missed (a gateway restart between commit and hint)."""

    def __init__(self, upstream: _Upstream, signer: InternalTokenSigner) -> None:
        self.upstream = upstream
        self.signer = signer
        self.pending = False
        self.sent = 0
        self.loop = Loop("training-directory-hints", self._round, poll_seconds=IDLE_SECONDS)

    def changed(self) -> None:
        self.pending = True
        self.loop.wake()

    async def _round(self) -> float:
        if not self.pending:
            return IDLE_SECONDS
        self.pending = False
        token = self.signer.sign(
            audience="training", subject="service:gateway", kind=PrincipalKind.SERVICE
        )
        try:
            await self.upstream.fetch_json(
                TRAINING_HINT_PATH, headers={"Authorization": f"Bearer {token}"}, method="POST"
            )
        except Exception as exc:  # training away: again soon
            self.pending = True
            logger.warning(
                "training did not take the directory change (%s); telling it again in %d s",
                exc,
                HINT_RETRY_SECONDS,
            )
            return HINT_RETRY_SECONDS
        self.sent += 1
        return IDLE_SECONDS
