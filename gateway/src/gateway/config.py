"""Gateway settings, read from ``GATEWAY_*`` environment variables (see ``.env.example``)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from kit.settings import AppSettings

DEV_TOKEN_SECRET = "dev-token-secret-change-me-0123456789abcdef"

UPSTREAMS = ("training", "coaching", "incidents")


class GatewaySettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/gateway.db"
    port: int = 8000
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Where clients reach the gateway."
    )
    training_url: str = "http://127.0.0.1:8001"
    coaching_url: str = "http://127.0.0.1:8002"
    incidents_url: str = "http://127.0.0.1:8003"
    upstream_connect_timeout_seconds: float = 2.0
    upstream_read_timeout_seconds: float = 30.0
    upstream_pool_size: int = 100
    # Development login: the gateway signs its own tokens. Off in production.
    dev_tokens_enabled: bool = True
    dev_token_secret: SecretStr = SecretStr(DEV_TOKEN_SECRET)
    dev_token_lifetime_hours: int = 12
    # How long a person's active flag and roles are cached per gateway process.
    principal_cache_seconds: float = 5.0
    # Group (by display name) -> role, for roles that come from group membership.
    group_roles: dict[str, str] = {
        "Policy Owners": "policy_owner",
        "HR": "hr",
        "Legal": "legal",
        "Coaches": "coach",
        "Admins": "admin",
    }

    def upstream_urls(self) -> dict[str, str]:
        return {
            "training": self.training_url,
            "coaching": self.coaching_url,
            "incidents": self.incidents_url,
        }

    def secrets(self) -> dict[str, str | None]:
        secrets = super().secrets()
        if self.dev_tokens_enabled:
            secrets["dev_token_secret"] = self.dev_token_secret.get_secret_value()
        return secrets
