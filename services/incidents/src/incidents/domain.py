"""The vocabulary of incidents, shared by the policy, the incidents and their decisions."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Category(StrEnum):
    CONFIDENTIAL_INFORMATION = "confidential_information"
    HARASSMENT_OR_HATE = "harassment_or_hate"
    SPEAKING_WITHOUT_MANDATE = "speaking_without_mandate"
    MISLEADING_CLAIMS = "misleading_claims"
    PRIVACY_OF_OTHERS = "privacy_of_others"
    INAPPROPRIATE_CONTENT = "inappropriate_content"
    OTHER = "other"


class Channel(StrEnum):
    LINKEDIN = "linkedin"
    X = "x"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    TIKTOK = "tiktok"
    YOUTUBE = "youtube"
    OTHER = "other"


class Action(StrEnum):
    COACHING = "coaching"
    MANAGER_REVIEW = "manager_review"
    HR_REVIEW = "hr_review"
    LEGAL_REVIEW = "legal_review"
    DISCIPLINARY_REVIEW = "disciplinary_review"


class OwnerRole(StrEnum):
    """Who is responsible for acting on a decision."""

    MANAGER = "manager"
    HR = "hr"
    LEGAL = "legal"
    COACH = "coach"


class ContactKind(StrEnum):
    MANAGER = "manager"
    HR = "hr"
    LEGAL = "legal"
    GROUP = "group"


class IncidentStatus(StrEnum):
    REPORTED = "reported"
    AWAITING_HISTORY = "awaiting_history"
    DECIDED = "decided"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class Outcome(StrEnum):
    VIOLATION_CONFIRMED = "violation_confirmed"
    NO_VIOLATION = "no_violation"


OPEN_STATUSES = frozenset(
    {
        IncidentStatus.REPORTED,
        IncidentStatus.AWAITING_HISTORY,
        IncidentStatus.DECIDED,
        IncidentStatus.IN_PROGRESS,
    }
)
# Where a decision has told someone to act, so a deadline can pass.
ACTIONABLE_STATUSES = frozenset({IncidentStatus.DECIDED, IncidentStatus.IN_PROGRESS})

GROUP_CONTACT_PREFIX = "group:"

# Who is told when a decision's deadline passes without the incident being closed (an
# escalation rule's ``on_deadline_missed``), beyond its owner: ``owner_manager`` (the
# owner's manager), ``manager`` (the person's manager), ``hr``, ``legal``, ``group:<name>``.
OWNER_MANAGER = "owner_manager"
DEFAULT_ON_DEADLINE_MISSED: tuple[str, ...] = (OWNER_MANAGER, "hr")
