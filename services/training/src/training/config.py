"""Training settings, read from ``TRAINING_*`` environment variables (see ``.env.example``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kit.reminders import MAX_PER_ROUND
from kit.settings import AppSettings


class TrainingSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="TRAINING_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/training.db"
    port: int = 8001
    # The directory (departments, managers) is reached through the gateway, never directly.
    gateway_url: str = "http://127.0.0.1:8000"
    # Allowance for network delay when a quiz with a time limit is submitted at the last moment.
    quiz_submit_grace_seconds: int = 10
    # Assignment rules are compared with the directory this often (on one replica at a time).
    reconcile_seconds: float = 3600.0
    # Run that comparison in the background (tests drive it by hand).
    reconciler: bool = True
    # Remedial modules an incident assigns are due this many days later (unless it says).
    remedial_due_days: int = 14
    # Recertification: a renewal is assigned this many days before a completion expires, and
    # a person is asked to renew a policy acknowledgement this many days before it lapses.
    renewal_lead_days: int = 30
    # Reminders (README "Reminders and deadlines"): a person is reminded this many days
    # before an assignment is due, or an acknowledgement they were asked to renew lapses;
    # an overdue one (or a lapse) tells the person and their manager.
    # Looked for this often, on one replica at a time.
    assignment_reminder_days: float = Field(default=3.0, gt=0)
    reminders_every_seconds: float = Field(default=300.0, gt=0)
    # Notices each reminder rule gives per round at most; the rest wait for the next round
    # (kit.reminders), so a backlog cannot flood mail and webhooks.
    reminders_max_per_round: int = Field(default=MAX_PER_ROUND, ge=1)
    reminders_job: bool = True
    # Retention (README "Data protection"): the quiz attempts of people who left are
    # deleted, and their community posts anonymised, this long after they left; the job
    # runs every few hours, on one replica at a time.
    retention_left_days: int = Field(default=365, ge=1)
    retention_every_hours: float = Field(default=6.0, gt=0)
    retention_job: bool = True
