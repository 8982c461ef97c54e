"""The four apps as real processes, once per module (see tests/support/processes.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from gateway.events.mailcatcher import MailCatcher
from tests.support.databases import DatabaseSet, create_databases, drop_databases
from tests.support.processes import RunningStack, started_processes


@pytest.fixture(scope="module")
def e2e_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseSet]:
    databases = create_databases(f"smp_e2e_{os.getpid()}", tmp_path_factory.mktemp("e2e"))
    yield databases
    drop_databases(databases)


@pytest.fixture(scope="module")
def e2e_mail() -> Iterator[MailCatcher]:
    """The SMTP server the gateway's e-mail goes to (a real one, on a free port)."""
    with MailCatcher() as catcher:
        yield catcher


@pytest.fixture(scope="module")
async def running_processes(
    e2e_databases: DatabaseSet, e2e_mail: MailCatcher, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningStack]:
    async with started_processes(
        e2e_databases,
        tmp_path_factory.mktemp("e2e-logs"),
        settings={
            "GATEWAY_SMTP_PORT": str(e2e_mail.port),
            # The tests' webhook receivers listen on loopback, over plain http, and their
            # outages should not make a test wait minutes for the backoff.
            "GATEWAY_WEBHOOK_ALLOW_HTTP": "true",
            "GATEWAY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
            "GATEWAY_WEBHOOK_RETRY_BASE_SECONDS": "0.5",
            "GATEWAY_WEBHOOK_RETRY_MAX_SECONDS": "2",
        },
    ) as stack:
        yield stack
