"""``python -m gateway serve | migrate | seed | token``: the one entrypoint of the gateway."""

import argparse
import asyncio
import sys

from sqlmodel import col, select

from gateway.auth import sign_dev_token
from gateway.config import GatewaySettings
from gateway.main import ALEMBIC_INI
from gateway.models import Person
from gateway.seed import seed
from kit.cli import AppCli, Command
from kit.db import Database


def run_seed(_: argparse.Namespace) -> int:
    async def go() -> bool:
        database = Database(GatewaySettings().database_url)
        try:
            return await seed(database)
        finally:
            await database.dispose()

    print("gateway: demo organisation loaded" if asyncio.run(go()) else "gateway: already seeded")
    return 0


def run_token(args: argparse.Namespace) -> int:
    settings = GatewaySettings()
    if not settings.dev_tokens_enabled:
        print("development tokens are disabled (GATEWAY_DEV_TOKENS_ENABLED=false)", file=sys.stderr)
        return 2

    async def find() -> Person | None:
        database = Database(settings.database_url)
        try:
            async with database.transaction(write=False) as session:
                person: Person | None = await session.scalar(
                    select(Person).where(col(Person.user_name) == args.user)
                )
                return person
        finally:
            await database.dispose()

    person = asyncio.run(find())
    if person is None:
        print(f"no person with user name {args.user!r} in the directory", file=sys.stderr)
        return 2
    if not person.active:
        print(f"{args.user} is deactivated and cannot sign in", file=sys.stderr)
        return 2
    print(sign_dev_token(settings, person_id=person.id))
    return 0


def token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", required=True, help="the person's user name, e.g. emma.employee")


cli = AppCli(
    name="gateway",
    settings=GatewaySettings,
    alembic_ini=ALEMBIC_INI,
    commands={
        "seed": Command("load the demo organisation (only into an empty directory)", run_seed),
        "token": Command("print a development token for a person", run_token, token_arguments),
    },
)

if __name__ == "__main__":
    raise SystemExit(cli.main())
