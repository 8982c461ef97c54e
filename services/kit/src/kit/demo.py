"""Stable ids for the demo organisation, so each app's seed can refer to the same people
without asking the gateway. Used by seeds only."""

import uuid

DEMO_NAMESPACE = uuid.UUID("6d1f7a2e-3c55-4f7e-9a51-6c0d2b9e8a10")


def demo_person_id(user_name: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, user_name)
