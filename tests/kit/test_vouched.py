"""A directory record passed on in a request counts only from the trusted service."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from kit.identity import Caller, PrincipalKind
from kit.vouched import DirectoryRecord, vouched

RECORD = DirectoryRecord(active=True, department="Sales")


class TestVouched:
    def test_the_trusted_service_s_record_is_taken(self) -> None:
        incidents = Caller(subject="service:incidents", kind=PrincipalKind.SERVICE)

        assert vouched(RECORD, caller=incidents, trusted="incidents") == RECORD

    @pytest.mark.parametrize(
        "caller",
        [
            Caller(subject=str(uuid.uuid4()), kind=PrincipalKind.USER, roles=frozenset({"hr"})),
            # An API client or a person cannot pass for the service by its name.
            Caller(subject="service:incidents", kind=PrincipalKind.API_CLIENT),
            Caller(subject="service:incidents", kind=PrincipalKind.USER),
            Caller(subject="service:coaching", kind=PrincipalKind.SERVICE),
        ],
    )
    def test_anyone_else_s_record_is_ignored(self, caller: Caller) -> None:
        assert vouched(RECORD, caller=caller, trusted="incidents") is None


class TestDirectoryRecord:
    @pytest.mark.parametrize(
        "body",
        [{}, {"active": "true"}, {"active": 1}, {"active": True, "department": "x" * 201}],
    )
    def test_a_malformed_record_is_refused(self, body: dict[str, object]) -> None:
        with pytest.raises(ValidationError):
            DirectoryRecord.model_validate(body)

    def test_fields_the_directory_record_does_not_have_are_refused(self) -> None:
        with pytest.raises(ValidationError):
            DirectoryRecord.model_validate({"active": True, "roles": ["hr"]})
