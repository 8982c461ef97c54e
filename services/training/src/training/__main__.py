"""``python -m training serve | migrate | seed``: the one entrypoint of the training app."""

import argparse
import asyncio

from kit.cli import AppCli, Command, audit_verify_command
from kit.db import Database
from training.config import TrainingSettings
from training.db import audit_trail
from training.main import ALEMBIC_INI
from training.seed import seed


def run_seed(_: argparse.Namespace) -> int:
    async def go() -> bool:
        database = Database(TrainingSettings().database_url)
        try:
            return await seed(database)
        finally:
            await database.dispose()

    print("training: demo content loaded" if asyncio.run(go()) else "training: already seeded")
    return 0


cli = AppCli(
    name="training",
    settings=TrainingSettings,
    alembic_ini=ALEMBIC_INI,
    commands={
        "seed": Command("load the demo content (only into an empty database)", run_seed),
        "audit-verify": audit_verify_command(audit_trail, lambda: TrainingSettings().database_url),
    },
)

if __name__ == "__main__":
    raise SystemExit(cli.main())
