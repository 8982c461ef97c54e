"""Remedial training: the modules that teach the clauses an incident breached."""
