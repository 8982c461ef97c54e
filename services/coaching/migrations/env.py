"""Alembic environment for the coaching database."""

import coaching.models  # noqa: F401  (registers the tables on the metadata)
from coaching.config import CoachingSettings
from coaching.db import Base
from kit.migrations import run_env

run_env(Base.metadata, lambda: CoachingSettings().database_url)
