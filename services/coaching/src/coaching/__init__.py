"""Coaching service: coaches, engagements and sessions, the ambassador program, history."""
