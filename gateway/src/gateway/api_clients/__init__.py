"""API clients: integrators' credentials with scopes (admin-managed)."""
