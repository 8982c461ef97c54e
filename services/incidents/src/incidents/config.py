"""Incidents settings, read from ``INCIDENTS_*`` environment variables (see ``.env.example``)."""

from pydantic_settings import SettingsConfigDict

from kit.settings import AppSettings


class IncidentsSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="INCIDENTS_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/incidents.db"
    port: int = 8003
    # Coaching and the directory are reached through the gateway, never directly.
    gateway_url: str = "http://127.0.0.1:8000"
