"""The hostile tests reach SCIM with an API client, as the gateway tests do."""

from __future__ import annotations

from tests.gateway.conftest import admin, api_client, scim

__all__ = ["admin", "api_client", "scim"]
