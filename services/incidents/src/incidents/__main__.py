"""``python -m incidents serve | migrate | seed``: the one entrypoint of the incidents app."""

import argparse
import asyncio

from incidents.config import IncidentsSettings
from incidents.db import Base, audit_trail
from incidents.main import ALEMBIC_INI
from incidents.seed import seed
from kit.cli import AppCli, Command, audit_verify_command, rotate_keys_command
from kit.db import Database


def run_seed(_: argparse.Namespace) -> int:
    async def go() -> bool:
        database = Database(IncidentsSettings().database_url)
        try:
            return await seed(database)
        finally:
            await database.dispose()

    print(
        "incidents: default escalation policy published, demo reports queued for a decision"
        if asyncio.run(go())
        else "incidents: already seeded"
    )
    return 0


cli = AppCli(
    name="incidents",
    settings=IncidentsSettings,
    alembic_ini=ALEMBIC_INI,
    commands={
        "rotate-keys": rotate_keys_command(Base.metadata, lambda: IncidentsSettings().database_url),
        "audit-verify": audit_verify_command(audit_trail, lambda: IncidentsSettings().database_url),
        "seed": Command(
            "publish the default escalation policy (only into an empty database)", run_seed
        ),
    },
)

if __name__ == "__main__":
    raise SystemExit(cli.main())
