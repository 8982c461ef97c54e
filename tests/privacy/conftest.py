"""Fixtures of the privacy tests: the incidents tests' organisation (``org``), SCIM, and a
privacy officer."""

from __future__ import annotations

import pytest

from gateway.models import Person
from tests.gateway.conftest import admin, api_client, scim
from tests.incidents.conftest import org
from tests.support.stack import StackHandle

__all__ = ["admin", "api_client", "org", "scim"]


@pytest.fixture
async def officer(stack: StackHandle) -> Person:
    return await stack.person(department="Legal", roles=["privacy"])
