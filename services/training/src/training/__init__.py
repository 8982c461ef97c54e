"""Training service: the policy, modules, quizzes, assignments, community and reports."""
