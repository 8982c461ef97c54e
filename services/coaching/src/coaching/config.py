"""Coaching settings, read from ``COACHING_*`` environment variables (see ``.env.example``)."""

from pydantic_settings import SettingsConfigDict

from kit.settings import EncryptionSettings


class CoachingSettings(EncryptionSettings):
    model_config = SettingsConfigDict(env_prefix="COACHING_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/coaching.db"
    port: int = 8002
    # Other services (training) are reached through the gateway, never directly.
    gateway_url: str = "http://127.0.0.1:8000"
