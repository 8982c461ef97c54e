"""A person's directory record, passed on by the service that just read it.

The incidents service reads the person concerned from the directory when it decides; the
services it then asks for the remedial engagement and the remedial training would each read
the same record through the gateway again. Instead incidents sends what they need from it
with the request (a ``directory_record`` field), and they take it in place of their own lookup
(issue 16: two gateway hops fewer per decision).

The record is only as good as the caller's word, so only a trusted service principal's
counts: who is calling comes from the internal token the gateway signed (``Caller``), never
from a header or from the body. From anyone else (a user, an API client, another service)
the record is ignored and the directory asked as before: nobody can vouch for themselves.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kit.fields import Flag, Text
from kit.identity import Caller


class DirectoryRecord(BaseModel):
    """What the directory said of the person, moments ago, to the service passing it on."""

    model_config = ConfigDict(extra="forbid")

    active: Flag = Field(description="The person is active in the directory (has not left).")
    department: Text | None = Field(
        default=None, max_length=200, description="Their department in the directory."
    )


def vouched(
    record: DirectoryRecord | None, *, caller: Caller, trusted: str
) -> DirectoryRecord | None:
    """``record`` when the caller is the ``trusted`` service (``service:<trusted>``, from its
    verified internal token); ``None`` otherwise, so the directory is asked."""
    return record if caller.is_service(trusted) else None
