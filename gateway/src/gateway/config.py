"""Gateway settings, read from ``GATEWAY_*`` environment variables (see ``.env.example``)."""

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from kit.settings import EncryptionSettings

DEV_TOKEN_SECRET = "dev-token-secret-change-me-0123456789abcdef"

UPSTREAMS = ("training", "coaching", "incidents")


class GatewaySettings(EncryptionSettings):
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
    # Below the services' keep-alive timeout (uvicorn's 5 s), so the gateway never sends a
    # request on a connection the service is closing.
    upstream_idle_seconds: float = Field(default=4.0, gt=0)
    # Development login: the gateway signs its own tokens. Off in production.
    dev_tokens_enabled: bool = True
    dev_token_secret: SecretStr = SecretStr(DEV_TOKEN_SECRET)
    dev_token_lifetime_hours: int = 12
    # How long a person's active flag and roles are cached per gateway process.
    principal_cache_seconds: float = 5.0
    # An entry in use is reloaded in the background shortly before it expires, so an active
    # caller never waits for the lookup. Off: it is looked up again once it has expired.
    principal_cache_refresh_ahead: bool = True
    # Group (by display name) -> role, for roles that come from group membership.
    group_roles: dict[str, str] = {
        "Policy Owners": "policy_owner",
        "HR": "hr",
        "Legal": "legal",
        "Coaches": "coach",
        "Admins": "admin",
        "Privacy": "privacy",
    }

    # Login with the organisation's OIDC provider (production). All three of issuer,
    # audience and JWKS URL turn it on.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_algorithms: list[str] = ["RS256"]
    # Which token claim names the person, and which directory field it is matched against
    # (Okta: sub = the SCIM externalId; Entra: set oidc_person_claim=oid).
    oidc_person_claim: str = "sub"
    oidc_person_field: Literal["external_id", "user_name", "email"] = "external_id"
    oidc_jwks_cache_seconds: float = 3600.0
    # An unknown key id refreshes the key set at most this often.
    oidc_jwks_min_refresh_seconds: float = 10.0
    # Circuit breaker per upstream: this many failures in a row open it; after the
    # cool-down one trial request goes through (half-open).
    breaker_failure_threshold: int = 5
    breaker_reset_seconds: float = 10.0
    # Safe requests (GET, HEAD, OPTIONS) that fail to connect are retried this many times.
    upstream_connect_retries: int = 1
    # Requests per second per principal (burst = rate_limit_burst); 0 turns limiting off.
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 100
    # SCIM's own budget per API client, for requests under /scim/v2: an identity provider's
    # initial sync is thousands of requests in bursts (bench/scim_sync.py).
    scim_rate_limit_per_second: float = 200.0
    scim_rate_limit_burst: int = 1000
    # Requests refused for want of valid credentials (401), per client address and gateway
    # process: once an address has used its burst, its requests get 429 before any token
    # is verified (refilled at the rate; 0 turns the throttle off).
    unauthenticated_rate_per_second: float = 1.0
    unauthenticated_burst: int = 20
    # Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For names the client.
    trusted_proxies: list[str] = []
    # Browser origins allowed to call the API (CORS), e.g. ["https://portal.example"].
    cors_origins: list[str] = []
    # How long /openapi.json keeps a service's document before asking again (seconds);
    # an upstream that was down is asked again on the next request.
    openapi_refresh_seconds: float = 60.0
    # How long a right-of-access export's download link works; then the document is wiped.
    export_ttl_hours: float = Field(default=72.0, gt=0, le=24 * 30)
    # Carries out erasures and resumes those cut short (leased: safe in every replica).
    # Off only where something else drives it (the in-process test stack).
    privacy_worker: bool = True
    # How long a gateway holds an erasure it works on; one cut short (a crash) is taken
    # over by any gateway when this has passed.
    erasure_lease_seconds: float = Field(default=60.0, gt=0)
    # Likewise for a right-of-access export being gathered.
    export_lease_seconds: float = Field(default=60.0, gt=0)

    # E-mail (SMTP with aiosmtplib). ``make run`` starts a local catcher on port 1025.
    email_enabled: bool = True
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    # STARTTLS after connecting (port 587), or TLS from the first byte (port 465).
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_from: str = "Social media policy program <no-reply@smp.example>"
    # Notification kinds (event types) people cannot opt out of by e-mail.
    mandatory_email_kinds: list[str] = [
        "incident.decided",
        "incident.escalated",
        "incident.overdue",
        "training.acknowledgement.requested",
    ]
    # The senders (e-mail, webhooks) and reminders run in every gateway process; off only
    # where something else drives them (the in-process test stack).
    background_senders: bool = True
    # Longest sleep between looks for work another replica queued (this process's own
    # intake wakes its senders at once); failed attempts back off from BASE up to MAX.
    sender_poll_seconds: float = Field(default=2.0, gt=0)
    # Woken by the intake, a sender waits this long so one round sends many.
    sender_linger_seconds: float = Field(default=0.05, ge=0)
    email_retry_base_seconds: float = Field(default=5.0, ge=0)
    email_retry_max_seconds: float = Field(default=1800.0, gt=0)

    # Webhooks (README "Webhooks"). HTTPS only outside development unless ALLOW_HTTP; never
    # to loopback/private/link-local addresses unless ALLOW_PRIVATE_ADDRESSES (SSRF).
    webhook_allow_http: bool = False
    webhook_allow_private_addresses: bool = False
    # A new subscription's URL must accept a TCP connection (else 422).
    webhook_check_reachable: bool = True
    # The longest one delivery may take, all included; a slower receiver is a failure.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_concurrency: int = Field(default=20, ge=1)
    webhook_retry_base_seconds: float = Field(default=5.0, ge=0)
    webhook_retry_max_seconds: float = Field(default=3600.0, gt=0)
    # An endpoint whose deliveries have all failed this long is disabled (admins told).
    webhook_disable_after_hours: float = Field(default=72.0, gt=0)

    @property
    def webhook_http_allowed(self) -> bool:
        return self.webhook_allow_http or self.environment == "development"

    @model_validator(mode="after")
    def _oidc_all_or_nothing(self) -> Self:
        oidc = (self.oidc_issuer, self.oidc_audience, self.oidc_jwks_url)
        if any(oidc) and not all(oidc):
            raise ValueError(
                "set all of GATEWAY_OIDC_ISSUER, GATEWAY_OIDC_AUDIENCE and GATEWAY_OIDC_JWKS_URL"
            )
        return self

    @property
    def oidc_enabled(self) -> bool:
        return self.oidc_issuer is not None

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
