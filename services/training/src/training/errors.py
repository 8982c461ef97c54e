"""Training's domain errors (the tree itself is documented in ``kit.errors``)."""

from kit.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable


class NoPublishedPolicy(NotFound):
    slug = "no-published-policy"
    title = "No published policy"


class PolicyVersionNotFound(NotFound):
    slug = "policy-version-not-found"
    title = "Policy version not found"


class VersionNotEditable(Conflict):
    slug = "version-not-editable"
    title = "Only drafts can be changed"


class NotCurrentVersion(Conflict):
    slug = "not-current-version"
    title = "Not the current policy version"


class UnknownClause(Unprocessable):
    slug = "unknown-clause"
    title = "Unknown clause"


class ModuleNotFound(NotFound):
    slug = "module-not-found"
    title = "Module not found"


class ModuleNotEditable(Conflict):
    slug = "module-not-editable"
    title = "Only draft modules can be changed"


class ModuleNotPublished(Conflict):
    slug = "module-not-published"
    title = "Module not published"


class ScenarioNotFound(NotFound):
    slug = "scenario-not-found"
    title = "Scenario not found"


class UnknownOption(Unprocessable):
    slug = "unknown-option"
    title = "Unknown option"


class QuizNotFound(NotFound):
    slug = "quiz-not-found"
    title = "Quiz not found"


class AttemptNotFound(NotFound):
    slug = "attempt-not-found"
    title = "Attempt not found"


class AttemptLimitReached(Conflict):
    slug = "attempt-limit-reached"
    title = "No attempts left"


class AttemptInProgress(Conflict):
    slug = "attempt-in-progress"
    title = "An attempt is already in progress"


class QuizAlreadyPassed(Conflict):
    slug = "quiz-already-passed"
    title = "Quiz already passed"


class AttemptAlreadySubmitted(Conflict):
    slug = "attempt-already-submitted"
    title = "Attempt already submitted"


class TimeLimitExceeded(Conflict):
    slug = "time-limit-exceeded"
    title = "Time limit exceeded"


class InvalidAnswers(Unprocessable):
    slug = "invalid-answers"
    title = "Answers do not match the attempt"


class AssignmentNotFound(NotFound):
    slug = "assignment-not-found"
    title = "Assignment not found"


class UnknownPeople(Unprocessable):
    slug = "unknown-people"
    title = "Unknown people"


class PersonNotFound(NotFound):
    slug = "person-not-found"
    title = "Person not found"


class PostNotFound(NotFound):
    slug = "post-not-found"
    title = "Post not found"


class DirectoryUnavailable(ServiceUnavailable):
    slug = "directory-unavailable"
    title = "Directory unavailable"


class RuleNotFound(NotFound):
    slug = "assignment-rule-not-found"
    title = "Assignment rule not found"


class ReportSourceUnavailable(ServiceUnavailable):
    slug = "report-source-unavailable"
    title = "A service the report needs is unavailable"
