"""Training settings, read from ``TRAINING_*`` environment variables (see ``.env.example``)."""

from pydantic_settings import SettingsConfigDict

from kit.settings import AppSettings


class TrainingSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="TRAINING_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/training.db"
    port: int = 8001
