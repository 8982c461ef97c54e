"""Every training table, registered on the training metadata (Alembic reads this module).
Each sub-domain keeps its own tables in its package; API shapes live in ``schemas.py``."""

from training.assignments.models import Assignment, ModuleProgress
from training.community.models import Reply, Thread
from training.modules.models import (
    Channel,
    Example,
    Module,
    ModuleStatus,
    Scenario,
    ScenarioAnswer,
    Verdict,
)
from training.policy.models import Acknowledgement, Clause, Policy, PolicyVersion, VersionStatus
from training.quizzes.models import (
    Attempt,
    Question,
    QuestionKind,
    QuestionResult,
    Quiz,
    ReviewRule,
)
from training.remedial.models import RemedialAssignment
from training.rules.models import AssignmentRule, Leaver, TargetKind

__all__ = [
    "Acknowledgement",
    "Assignment",
    "AssignmentRule",
    "Attempt",
    "Channel",
    "Clause",
    "Example",
    "Leaver",
    "Module",
    "ModuleProgress",
    "ModuleStatus",
    "Policy",
    "PolicyVersion",
    "Question",
    "QuestionKind",
    "QuestionResult",
    "Quiz",
    "RemedialAssignment",
    "Reply",
    "ReviewRule",
    "Scenario",
    "ScenarioAnswer",
    "TargetKind",
    "Thread",
    "Verdict",
    "VersionStatus",
]
