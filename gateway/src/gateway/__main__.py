"""``python -m gateway serve | migrate | seed | token``: the one entrypoint of the gateway."""

import argparse
import asyncio
import sys

from sqlmodel import col, select

from gateway.auth import sign_dev_token
from gateway.config import GatewaySettings
from gateway.db import audit_trail
from gateway.main import ALEMBIC_INI
from gateway.models import Person
from gateway.seed import seed
from kit.cli import AppCli, Command, audit_verify_command
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
    """One user: print the bare token (for ``TOKEN=$(...)``). Several: one aligned
    ``user token`` line each, in one process (``make run`` prints the demo users' tokens)."""
    settings = GatewaySettings()
    if not settings.dev_tokens_enabled:
        print("development tokens are disabled (GATEWAY_DEV_TOKENS_ENABLED=false)", file=sys.stderr)
        return 2
    people = asyncio.run(_people_by_user_name(settings, args.user))
    for user_name in args.user:
        person = people.get(user_name)
        if person is None:
            print(f"no person with user name {user_name!r} in the directory", file=sys.stderr)
            return 2
        if not person.active:
            print(f"{user_name} is deactivated and cannot sign in", file=sys.stderr)
            return 2
    width = max(len(user_name) for user_name in args.user)
    for user_name in args.user:
        token = sign_dev_token(settings, person_id=people[user_name].id)
        print(token if len(args.user) == 1 else f"    {user_name:<{width}}  {token}")
    return 0


async def _people_by_user_name(
    settings: GatewaySettings, user_names: list[str]
) -> dict[str, Person]:
    database = Database(settings.database_url)
    try:
        async with database.transaction(write=False) as session:
            people = await session.scalars(
                select(Person).where(col(Person.user_name).in_(user_names))
            )
            return {person.user_name: person for person in people}
    finally:
        await database.dispose()


def run_mailcatcher(args: argparse.Namespace) -> int:
    """The local SMTP catcher of ``make run`` (development only: needs aiosmtpd). The
    Procfile runs ``python -m gateway.events.mailcatcher`` (it imports no more than it
    needs: it starts beside the four apps)."""
    from gateway.events.mailcatcher import serve

    return serve(host=args.host, port=args.port, directory=args.directory)


def mailcatcher_arguments(parser: argparse.ArgumentParser) -> None:
    from gateway.events.mailcatcher import arguments

    arguments(parser)


def token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user",
        action="append",
        required=True,
        help="the person's user name, e.g. emma.employee (repeat for several people)",
    )


cli = AppCli(
    name="gateway",
    settings=GatewaySettings,
    alembic_ini=ALEMBIC_INI,
    commands={
        "audit-verify": audit_verify_command(audit_trail, lambda: GatewaySettings().database_url),
        "seed": Command("load the demo organisation (only into an empty directory)", run_seed),
        "token": Command("print a development token for a person", run_token, token_arguments),
        "mailcatcher": Command(
            "a local SMTP server keeping what it receives (development)",
            run_mailcatcher,
            mailcatcher_arguments,
        ),
    },
)

if __name__ == "__main__":
    raise SystemExit(cli.main())
