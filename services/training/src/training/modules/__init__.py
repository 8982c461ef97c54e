"""Training modules: examples and what-if scenarios."""
