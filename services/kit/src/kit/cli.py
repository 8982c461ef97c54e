"""The one entrypoint per app: ``python -m <app> serve | migrate | ...``.

The container image, ``make run`` and the end-to-end tests all start an app this way, so
what the image runs is what the tests run.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import NoReturn

import uvicorn
from sqlalchemy import MetaData

from kit.audit import AuditTrail, Verification
from kit.crypto import Rotation, install, rotate
from kit.db import Database
from kit.devrun import STATE_DIR, write_stamp
from kit.migrations import upgrade_to_head
from kit.observability import configure_logging
from kit.server import guarded_protocol
from kit.settings import AppSettings, EncryptionSettings

GRACEFUL_SHUTDOWN_SECONDS = 20


@dataclass(frozen=True)
class Command:
    help: str
    run: Callable[[argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], None] | None = None


@dataclass(frozen=True)
class AppCli:
    name: str
    settings: Callable[[], AppSettings]
    alembic_ini: Path
    commands: dict[str, Command] = field(default_factory=dict)

    def serve(self) -> int:
        settings = self.settings()
        configure_logging(self.name, settings.log_level, access_log=settings.access_log)
        signal.signal(signal.SIGTERM, _exit_cleanly)
        uvicorn.run(
            f"{self.name}.main:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            loop="uvloop" if sys.platform != "win32" else "asyncio",
            # uvicorn's httptools protocol with a header timeout and a connection cap.
            http=guarded_protocol(
                header_timeout_seconds=settings.header_timeout_seconds,
                max_connections=settings.max_connections,
            ),
            log_config=None,
            access_log=False,
            server_header=False,
            # Nothing reads the client address (the logs carry no personal data), so skip
            # uvicorn's X-Forwarded-For rewriting on every request.
            proxy_headers=False,
            # "auto" would log a failing start-up as "lifespan unsupported" and serve anyway,
            # without a database; "on" makes the process exit non-zero so the container
            # restarts and the failure is in the log.
            lifespan="on",
            # SIGTERM: stop accepting, let in-flight requests finish, then run shutdown.
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        return 0

    def migrate(self) -> int:
        upgrade_to_head(self.alembic_ini, self.settings().database_url)
        return 0

    def prepare(self, args: argparse.Namespace) -> int:
        """``make run``'s step for this app, in one process: migrate to head, then load the
        demo data if the database is empty (the ``seed`` command's own check), then stamp
        the database for ``kit.devrun``'s check on the next start."""
        database_url = self.settings().database_url
        started = time.monotonic()
        print(f"{self.name}: migrating...", flush=True)
        upgrade_to_head(self.alembic_ini, database_url)
        print(f"{self.name}: migrations at head ({time.monotonic() - started:.1f} s)", flush=True)
        seed = self.commands.get("seed")
        if seed is not None and (code := seed.run(args)) != 0:
            return code
        write_stamp(self.name, database_url, args.state_dir)
        return 0

    def main(self, argv: Sequence[str] | None = None) -> int:
        parser = argparse.ArgumentParser(prog=f"python -m {self.name}")
        sub = parser.add_subparsers(dest="command", required=True)
        sub.add_parser("serve", help="serve the HTTP API")
        sub.add_parser("migrate", help="upgrade the database to the latest migration")
        prepare = sub.add_parser(
            "prepare", help="migrate, load the demo data into an empty database (make run)"
        )
        prepare.add_argument("--state-dir", type=Path, default=STATE_DIR)
        for name, command in self.commands.items():
            command_parser = sub.add_parser(name, help=command.help)
            if command.arguments is not None:
                command.arguments(command_parser)
        args = parser.parse_args(argv)
        settings = self.settings()
        if isinstance(settings, EncryptionSettings):
            # Every command that reads or writes encrypted fields (seed, rotate-keys) needs
            # the key ring; in production a missing key stops here, before anything runs.
            install(self.name, settings.keyring())
        if args.command == "serve":
            return self.serve()
        if args.command == "migrate":
            return self.migrate()
        if args.command == "prepare":
            return self.prepare(args)
        return self.commands[args.command].run(args)


def audit_verify_command(trail: AuditTrail, database_url: Callable[[], str]) -> Command:
    """``python -m <app> audit-verify``: walk the access audit's hash chain; exit 1 and name
    the first entry that does not hold when it was tampered with."""

    def run(_: argparse.Namespace) -> int:
        async def verify() -> Verification:
            database = Database(database_url())
            try:
                return await trail.verify(database)
            finally:
                await database.dispose()

        result = asyncio.run(verify())
        print(f"{trail.app}: {result.describe()}")
        return 0 if result.ok else 1

    return Command("check the access audit's hash chain (exit 1 when it was tampered with)", run)


def rotate_keys_command(metadata: MetaData, database_url: Callable[[], str]) -> Command:
    """``python -m <app> rotate-keys``: re-wrap every encrypted value under the active key
    (and encrypt values stored before encryption was turned on), in batches, while the
    app keeps serving."""

    def run(_: argparse.Namespace) -> int:
        async def go() -> Rotation:
            database = Database(database_url())
            try:
                return await rotate(database, metadata)
            finally:
                await database.dispose()

        result = asyncio.run(go())
        print(f"re-wrapped {result.rewrapped} of {result.checked} encrypted values")
        return 0

    return Command(
        "re-wrap every encrypted field under the active key (key rotation, no downtime)", run
    )


def _exit_cleanly(signum: int, frame: FrameType | None) -> NoReturn:
    """SIGTERM outside uvicorn's own handling. uvicorn drains and shuts down, then raises the
    signal again with the handler it found, which by default would end the process as
    "killed by SIGTERM" (143) after a clean stop; and before uvicorn has started there is
    nothing to drain. Either way a SIGTERM is a requested, clean stop: exit 0."""
    raise SystemExit(0)
