"""Quizzes per module: questions, attempts, server-side grading."""
