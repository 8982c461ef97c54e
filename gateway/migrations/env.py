"""Alembic environment for the gateway database (directory, groups, API clients)."""

import gateway.events.models
import gateway.models
import gateway.privacy.models
import gateway.webhooks.models  # noqa: F401
from gateway.config import GatewaySettings
from gateway.db import Base
from kit.migrations import run_env

run_env(Base.metadata, lambda: GatewaySettings().database_url)
