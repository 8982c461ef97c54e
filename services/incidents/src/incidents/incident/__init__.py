"""Incidents: reporting, access, lifecycle, timeline and queries."""
