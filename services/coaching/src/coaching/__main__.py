"""``python -m coaching serve | migrate | seed``: the one entrypoint of the coaching app."""

import argparse
import asyncio

from coaching.config import CoachingSettings
from coaching.db import Base, audit_trail
from coaching.main import ALEMBIC_INI
from coaching.seed import seed
from kit.cli import AppCli, Command, audit_verify_command, rotate_keys_command
from kit.db import Database


def run_seed(_: argparse.Namespace) -> int:
    async def go() -> bool:
        database = Database(CoachingSettings().database_url)
        try:
            return await seed(database)
        finally:
            await database.dispose()

    print(
        "coaching: demo coaching data loaded" if asyncio.run(go()) else "coaching: already seeded"
    )
    return 0


cli = AppCli(
    name="coaching",
    settings=CoachingSettings,
    alembic_ini=ALEMBIC_INI,
    commands={
        "rotate-keys": rotate_keys_command(Base.metadata, lambda: CoachingSettings().database_url),
        "audit-verify": audit_verify_command(audit_trail, lambda: CoachingSettings().database_url),
        "seed": Command("load the demo content (only into an empty database)", run_seed),
    },
)

if __name__ == "__main__":
    raise SystemExit(cli.main())
