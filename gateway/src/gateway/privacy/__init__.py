"""Data protection at the gateway: the access audit of role changes and its query route."""
