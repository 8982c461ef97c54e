"""Aggregates other services build reports from (the programme-effect report)."""
