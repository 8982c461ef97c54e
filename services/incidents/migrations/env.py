"""Alembic environment for the incidents database."""

import incidents.models  # noqa: F401  (registers the tables on the metadata)
from incidents.config import IncidentsSettings
from incidents.db import Base
from kit.migrations import run_env

run_env(Base.metadata, lambda: IncidentsSettings().database_url)
