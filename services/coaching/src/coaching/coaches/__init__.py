"""Coaches and their capacity."""
