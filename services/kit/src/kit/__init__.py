"""Cross-cutting plumbing shared by the gateway and the services. No domain code lives here."""
