"""Incidents service: reports, the escalation policy, decisions, lifecycle and timeline."""
