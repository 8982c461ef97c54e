"""Assignments, per-person progress and the signals coaching asks for."""
