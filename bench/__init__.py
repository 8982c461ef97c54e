"""Benchmark scripts: run with ``uv run python -m bench.<name>``; figures go into the README."""
