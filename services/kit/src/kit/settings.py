"""The settings base class every app's ``config.py`` extends with its own env prefix."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kit.crypto import DEV_ENCRYPTION_KEY, DEV_ENCRYPTION_KEY_ID, Keyring

# Development placeholders: fine on a laptop, refused in production.
DEV_INTERNAL_TOKEN_SECRET = "dev-internal-token-secret-change-me-0123456789"
PLACEHOLDER_MARKERS = ("change-me", "changeme", "placeholder", "example")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def is_placeholder(secret: str) -> bool:
    lowered = secret.lower()
    return any(marker in lowered for marker in PLACEHOLDER_MARKERS)


class AppSettings(BaseSettings):
    """Shared by the gateway and the services. Subclasses set ``env_prefix``."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_file_encoding="utf-8")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str
    host: str = "127.0.0.1"
    port: int
    log_level: str = "INFO"
    access_log: bool = True
    internal_token_secret: SecretStr = SecretStr(DEV_INTERNAL_TOKEN_SECRET)
    # During a rotation: the secret being retired, still accepted when verifying.
    internal_token_previous_secret: SecretStr | None = None
    max_body_bytes: int = 1_048_576
    # Server limits against slow and greedy clients (kit.server, kit.limits): a request's
    # headers must arrive within header_timeout_seconds, its body within
    # body_timeout_seconds of the app starting to read it; past max_connections open
    # connections per process a new one gets a 503.
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    max_connections: int = Field(default=1000, ge=1)
    db_pool_size: int = Field(default=10, ge=1)
    # How long a request waits for a pooled database connection when all are taken; past
    # that it gets a 503 with Retry-After (kit.observability), not a 500.
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    # gc.freeze() after start-up and a higher gen-0 threshold: see kit.runtime.
    tune_gc: bool = True
    # The outbox (kit.outbox): events are written with the change that caused them and
    # handed on by a drainer in every process. ``events_enabled=False`` writes none: only
    # to measure what events cost. ``outbox_drainer=False`` where something else drives
    # the drainer (the in-process test stack).
    events_enabled: bool = True
    outbox_drainer: bool = True
    # Expired idempotency keys are purged every 10 minutes; off where something else
    # owns the database connection (the in-process test stack).
    idempotency_janitor: bool = True
    outbox_poll_seconds: float = Field(default=2.0, gt=0)
    # Woken by a commit, the drainer waits this long so that one hand-over carries the
    # events of many commits under load (README "Events").
    outbox_linger_seconds: float = Field(default=0.05, ge=0)
    outbox_retry_base_seconds: float = Field(default=1.0, ge=0)
    outbox_retry_max_seconds: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Self:
        if self.environment is Environment.PRODUCTION:
            for name, value in self.secrets().items():
                if value is None or is_placeholder(value):
                    raise ValueError(
                        f"{name} must be set to a real secret in production "
                        "(development placeholders are refused)"
                    )
        return self

    def secrets(self) -> dict[str, str | None]:
        """Secrets that must be real in production; subclasses add theirs."""
        return {"internal_token_secret": self.internal_token_secret.get_secret_value()}

    def verification_secrets(self) -> list[str]:
        secrets = [self.internal_token_secret.get_secret_value()]
        if self.internal_token_previous_secret is not None:
            secrets.append(self.internal_token_previous_secret.get_secret_value())
        return secrets


class EncryptionSettings(AppSettings):
    """For an app that encrypts fields at rest (``kit.crypto``): its key ring.

    ``encryption_keys`` maps key ids to keys (32 random bytes, base64), e.g.
    ``{"2026-12": "..."}``; ``encryption_key_id`` names the one that encrypts (default: the
    last listed). In production the development key is refused and a missing key ring
    stops the app at start-up."""

    encryption_keys: dict[str, SecretStr] = Field(
        default_factory=lambda: {DEV_ENCRYPTION_KEY_ID: SecretStr(DEV_ENCRYPTION_KEY)}
    )
    encryption_key_id: str | None = None

    @model_validator(mode="after")
    def _key_ring(self) -> Self:
        keys = self.plain_encryption_keys()
        if self.environment is Environment.PRODUCTION and (
            not keys or DEV_ENCRYPTION_KEY in keys.values()
        ):
            prefix = self.model_config.get("env_prefix", "")
            raise ValueError(
                f"{prefix}ENCRYPTION_KEYS must hold the key that encrypts notes and incident "
                "texts in production (JSON: key id -> 32 random bytes in base64); the "
                "development key is refused"
            )
        Keyring.from_settings(keys, self.encryption_key_id)  # refuses a malformed ring
        return self

    def plain_encryption_keys(self) -> dict[str, str]:
        return {key_id: key.get_secret_value() for key_id, key in self.encryption_keys.items()}

    def keyring(self) -> Keyring:
        return Keyring.from_settings(self.plain_encryption_keys(), self.encryption_key_id)
