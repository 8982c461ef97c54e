"""Coaching settings, read from ``COACHING_*`` environment variables (see ``.env.example``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kit.settings import EncryptionSettings


class CoachingSettings(EncryptionSettings):
    model_config = SettingsConfigDict(env_prefix="COACHING_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/coaching.db"
    port: int = 8002
    # Other services (training) are reached through the gateway, never directly.
    gateway_url: str = "http://127.0.0.1:8000"

    # Retention (README "Data protection"): an engagement's notes (sessions' notes, the
    # closing note) are removed this long after it ended; the job runs every few hours,
    # on one replica at a time.
    retention_notes_days: int = Field(default=365, ge=1)
    retention_every_hours: float = Field(default=6.0, gt=0)
    retention_job: bool = True
