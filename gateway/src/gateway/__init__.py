"""The gateway: the one public entry point (authentication, directory, routing)."""
