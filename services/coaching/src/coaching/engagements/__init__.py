"""Engagements, their sessions (with confidential notes) and a person's coaching history."""
