"""Incidents settings, read from ``INCIDENTS_*`` environment variables (see ``.env.example``)."""

from typing import Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from incidents.policy.signoff import check_approver
from incidents.retention import DEFAULT_WINDOW_DAYS, kept_history_days
from kit.reminders import MAX_PER_ROUND
from kit.settings import EncryptionSettings


class IncidentsSettings(EncryptionSettings):
    model_config = SettingsConfigDict(env_prefix="INCIDENTS_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/incidents.db"
    port: int = 8003
    # Coaching and the directory are reached through the gateway, never directly.
    gateway_url: str = "http://127.0.0.1:8000"
    # The worker retries decisions waiting for coaching history and remedial-coaching
    # requests. Off only where something else drives it (the in-process test stack).
    background_worker: bool = True
    retry_base_seconds: float = Field(default=5.0, ge=0)
    retry_max_seconds: float = Field(default=600.0, gt=0)
    worker_poll_seconds: float = Field(default=30.0, gt=0)
    # How long a decision waits for coaching's history before the incident waits in
    # awaiting_history instead: a hung coaching never holds a report longer (the gateway
    # times the call out and its breaker counts it).
    history_timeout_seconds: float = Field(default=0.6, ge=0.05, le=30)
    # How long the directory's answers (a person, a role's holders, a group's members) are
    # kept for the next decisions: a change in the directory reaches them within this long.
    # 0: ask the directory every time.
    directory_cache_seconds: float = Field(default=2.0, ge=0, le=60)
    # Who must approve a version of the escalation policy before it can be published:
    # roles (hr, legal, policy_owner, admin, ...) or `group:<name>` (a directory group, such
    # as a works council). HR can add more (PUT /escalation-policy/approvers), never fewer.
    policy_approvers: list[str] = Field(default_factory=lambda: ["hr", "legal"], min_length=1)

    # A replay of a draft over at most this many past decisions answers at once; a larger
    # one runs in the background and reports its progress.
    replay_inline_limit: int = Field(default=5000, ge=0)

    # Retention (README "Data protection"): dismissed reports are deleted this long after
    # dismissal; closed incidents anonymised this long after closing (never before the
    # longest look-back window of the escalation policy plus the late-report allowance:
    # a report's window looks back from when the post was made, not from the report). The
    # job runs every few hours, on one replica at a time.
    retention_dismissed_days: int = Field(default=183, ge=1)
    retention_closed_days: int = Field(default=1826, ge=1)
    retention_late_report_days: int = Field(default=365, ge=0)
    retention_every_hours: float = Field(default=6.0, gt=0)
    retention_job: bool = True

    # Reminders and missed deadlines (README "Reminders and deadlines"): the owner of an open
    # incident is reminded this long before its decision's deadline; a passed deadline is
    # escalated as the deciding rule says. Looked for this often, on one replica at a time.
    deadline_reminder_hours: float = Field(default=24.0, gt=0)
    reminders_every_seconds: float = Field(default=300.0, gt=0)
    # Notices each reminder rule gives per round at most; the rest wait for the next round
    # (kit.reminders), so a backlog cannot flood mail and webhooks.
    reminders_max_per_round: int = Field(default=MAX_PER_ROUND, ge=1)
    reminders_job: bool = True

    @model_validator(mode="after")
    def _retention_keeps_the_policy_windows(self) -> Self:
        least = kept_history_days(DEFAULT_WINDOW_DAYS, self.retention_late_report_days)
        if self.retention_closed_days < least:
            raise ValueError(
                f"INCIDENTS_RETENTION_CLOSED_DAYS={self.retention_closed_days} would cut short "
                f"the escalation policy's {DEFAULT_WINDOW_DAYS}-day look-back window of a "
                f"report made up to {self.retention_late_report_days} days after the post "
                f"(INCIDENTS_RETENTION_LATE_REPORT_DAYS): set at least {least}"
            )
        return self

    @field_validator("policy_approvers")
    @classmethod
    def _approvers(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(check_approver(value) for value in values))
