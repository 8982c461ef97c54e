"""Alembic environment for the training database."""

import training.models  # noqa: F401  (registers the tables on the metadata)
from kit.migrations import run_env
from training.config import TrainingSettings
from training.db import Base

run_env(Base.metadata, lambda: TrainingSettings().database_url)
