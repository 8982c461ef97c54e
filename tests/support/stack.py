"""The four real apps wired together in-process.

The gateway's upstream clients are wired to the services' ASGI apps, and the services'
gateway clients to the gateway's ASGI app, so a cross-service flow runs the real code of
every hop (authentication, internal tokens, routing) without sockets. ``tests/e2e`` does
the same with real processes.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import delete
from sqlmodel import col, select

import coaching.main
import gateway.main
import incidents.main
import training.main
from coaching.config import CoachingSettings
from coaching.db import Base as CoachingBase
from gateway.auth import sign_dev_token
from gateway.config import GatewaySettings
from gateway.db import Base as GatewayBase
from gateway.models import Group, GroupMember, Person
from incidents.config import IncidentsSettings
from incidents.db import Base as IncidentsBase
from kit.db import Database
from kit.identity import GATEWAY_AUDIENCE, InternalTokenSigner, PrincipalKind
from kit.settings import DEV_INTERNAL_TOKEN_SECRET
from tests.support.databases import DatabaseSet
from training.config import TrainingSettings
from training.db import Base as TrainingBase

METADATA = {
    "gateway": GatewayBase.metadata,
    "training": TrainingBase.metadata,
    "coaching": CoachingBase.metadata,
    "incidents": IncidentsBase.metadata,
}
COMMON: dict[str, Any] = {
    "environment": "test",
    "tune_gc": False,
    "access_log": False,
    "log_level": "WARNING",
    # Tests drive the outbox drainers by hand (app.state.outbox_drainer.drain()): a loop of
    # its own would share the rolled-back test connection with the test.
    "outbox_drainer": False,
    # Likewise the idempotency janitor: every 10 minutes, so once in a full run, at a random
    # test's expense.
    "idempotency_janitor": False,
}


class LateASGITransport(httpx.AsyncBaseTransport):
    """An ASGI transport whose app is set after construction (the wiring is circular)."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.app is not None, "transport used before it was wired"
        return await httpx.ASGITransport(self.app).handle_async_request(request)


class SwitchableTransport(httpx.AsyncBaseTransport):
    """The gateway's transport to one upstream; ``down = True`` makes every call fail the
    way a stopped service does (connection refused)."""

    def __init__(self, app: FastAPI) -> None:
        self.inner = httpx.ASGITransport(app)
        self.down = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused (the test stopped this upstream)")
        return await self.inner.handle_async_request(request)


def build_settings(databases: DatabaseSet) -> dict[str, Any]:
    urls = databases.urls
    return {
        "gateway": GatewaySettings(
            database_url=urls["gateway"],
            training_url="http://training",
            coaching_url="http://coaching",
            incidents_url="http://incidents",
            # Tests drive the e-mail and webhook senders by hand (app.state.mailer...).
            background_senders=False,
            # Erasures run from the request's background task; the periodic loop (resuming
            # after a crash) would share the test's one connection and break its savepoints.
            privacy_worker=False,
            # Test receivers listen on loopback, over plain http.
            webhook_allow_http=True,
            webhook_allow_private_addresses=True,
            # The background reload of a caller's cached roles would open a session in a task
            # of its own beside the request's, on the one connection a test shares: their
            # savepoints interleave and the connection is left unusable (seen on PostgreSQL
            # when a test ran longer than 80 % of the cache's 5 s).
            principal_cache_refresh_ahead=False,
            **COMMON,
        ),
        "training": TrainingSettings(
            database_url=urls["training"],
            gateway_url="http://gateway",
            # Tests reconcile by hand (app.state.reconciler.run_once()).
            reconciler=False,
            # Tests give reminders by hand (app.state.reminders.run_once(now=...)).
            reminders_job=False,
            # Tests run retention by hand (app.state.retention.run_once()).
            retention_job=False,
            **COMMON,
        ),
        "coaching": CoachingSettings(
            database_url=urls["coaching"],
            gateway_url="http://gateway",
            # Tests run retention by hand (app.state.retention.run_once()).
            retention_job=False,
            **COMMON,
        ),
        "incidents": IncidentsSettings(
            database_url=urls["incidents"],
            gateway_url="http://gateway",
            # Tests drive the retry worker by hand (app.state.worker.run_due()): a loop of
            # its own would share the rolled-back test connection with the test.
            background_worker=False,
            retry_base_seconds=0,
            # Tests run retention by hand (app.state.retention.run_once()).
            retention_job=False,
            # Tests give reminders by hand (app.state.reminders.run_once(now=...)).
            reminders_job=False,
            # Each test changes the directory and expects the next decision to see it; the
            # cache has its own tests (tests/incidents/test_directory_cache.py).
            directory_cache_seconds=0,
            **COMMON,
        ),
    }


@dataclass
class Stack:
    """The wired apps, their lifespans running for the whole test session."""

    apps: dict[str, FastAPI]
    settings: dict[str, Any]
    upstreams: dict[str, SwitchableTransport]

    def database(self, app: str) -> Database:
        database: Database = self.apps[app].state.database
        return database


@contextlib.asynccontextmanager
async def running_stack(databases: DatabaseSet) -> AsyncIterator[Stack]:
    settings = build_settings(databases)
    to_gateway = LateASGITransport()
    services = {
        "training": training.main.create_app(settings["training"], gateway_transport=to_gateway),
        "coaching": coaching.main.create_app(settings["coaching"], gateway_transport=to_gateway),
        "incidents": incidents.main.create_app(settings["incidents"], gateway_transport=to_gateway),
    }
    upstreams = {name: SwitchableTransport(app) for name, app in services.items()}
    front = gateway.main.create_app(settings["gateway"], upstream_transports=dict(upstreams))
    to_gateway.app = front
    apps = {"gateway": front, **services}
    async with contextlib.AsyncExitStack() as lifespans:
        for app in apps.values():
            await lifespans.enter_async_context(app.router.lifespan_context(app))
        yield Stack(apps=apps, settings=settings, upstreams=upstreams)


@dataclass
class StackHandle:
    """What a test uses: clients for people, services and the apps directly, and a way to
    put people into the directory."""

    stack: Stack
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    # -- clients ------------------------------------------------------------------------

    def client(
        self, app: str = "gateway", *, headers: dict[str, str] | None = None
    ) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(self.stack.apps[app]),
            base_url=f"http://{app}",
            headers=headers,
        )
        self._clients.append(client)
        return client

    def token(self, person: Person | uuid.UUID) -> str:
        person_id = person.id if isinstance(person, Person) else person
        return sign_dev_token(self.stack.settings["gateway"], person_id=person_id)

    def as_user(self, person: Person | uuid.UUID) -> httpx.AsyncClient:
        """A client that calls through the gateway as ``person``."""
        return self.client(headers={"Authorization": f"Bearer {self.token(person)}"})

    def as_service(self, name: str) -> httpx.AsyncClient:
        """A client that calls through the gateway as the service principal ``service:name``."""
        token = InternalTokenSigner(DEV_INTERNAL_TOKEN_SECRET).sign(
            audience=GATEWAY_AUDIENCE, subject=f"service:{name}", kind=PrincipalKind.SERVICE
        )
        return self.client(headers={"Authorization": f"Bearer {token}"})

    def direct(
        self,
        app: str,
        *,
        subject: str,
        kind: PrincipalKind = PrincipalKind.USER,
        roles: Iterable[str] = ("employee",),
    ) -> httpx.AsyncClient:
        """A client straight to a service with an internal token, skipping the gateway."""
        token = InternalTokenSigner(DEV_INTERNAL_TOKEN_SECRET).sign(
            audience=app, subject=subject, kind=kind, roles=roles
        )
        return self.client(app, headers={"Authorization": f"Bearer {token}"})

    @contextlib.contextmanager
    def upstream_down(self, name: str) -> Iterator[None]:
        """Within the block the gateway cannot reach service ``name`` (connection refused)."""
        transport = self.stack.upstreams[name]
        transport.down = True
        try:
            yield
        finally:
            transport.down = False

    async def close(self) -> None:
        # The stack outlives a test: a breaker a test opened must not fail the next one.
        for breaker in self.stack.apps["gateway"].state.breakers.values():
            breaker.record_success()
        for client in self._clients:
            await client.aclose()

    # -- directory ----------------------------------------------------------------------

    async def person(
        self,
        *,
        user_name: str | None = None,
        display_name: str | None = None,
        department: str | None = "Sales",
        manager: Person | None = None,
        roles: Iterable[str] = (),
        active: bool = True,
        **fields: Any,
    ) -> Person:
        """A person in the gateway's directory; ``roles`` become group memberships."""
        suffix = uuid.uuid4().hex[:8]
        role_groups = {
            role: group for group, role in self.stack.settings["gateway"].group_roles.items()
        }
        async with self.stack.database("gateway").transaction() as session:
            person = Person(
                user_name=user_name or f"person-{suffix}",
                display_name=display_name or f"Person {suffix}",
                department=department,
                manager_id=manager.id if manager else None,
                active=active,
                **{"email": f"person-{suffix}@example.com", **fields},
            )
            session.add(person)
            for role in roles:
                group_name = role_groups[role]
                group = await session.scalar(
                    select(Group).where(col(Group.display_name) == group_name)
                )
                if group is None:
                    group = Group(display_name=group_name)
                    session.add(group)
                    await session.flush()
                session.add(GroupMember(group_id=group.id, person_id=person.id))
        return person


async def truncate_all(stack: Stack) -> None:
    """Empty every table of every app (after a test that committed for real)."""
    for app, metadata in METADATA.items():
        async with stack.database(app).transaction() as session:
            for table in reversed(metadata.sorted_tables):
                await session.execute(delete(table))
