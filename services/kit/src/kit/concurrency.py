"""Optimistic concurrency: ``ETag`` out, ``If-Match`` in, 412 when they differ.

A mutable table mixes in :class:`Versioned`; SQLAlchemy then adds ``AND version = :old``
to every UPDATE, so even two requests that both passed the ``If-Match`` check cannot both
win: the second one's UPDATE matches no row and becomes a 412 as well.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Request, Response
from sqlalchemy.orm import declared_attr
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Field, SQLModel

from kit.errors import PreconditionFailed, PreconditionRequired, domain_error_response


class Versioned(SQLModel):
    """Mix into a ``table=True`` model (before the service's base) to version its rows."""

    version: int = Field(default=1, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 (declared_attr receives the class)
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def etag_of(version: int) -> str:
    return f'"{version}"'


IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The `ETag` you last read; the update is refused with 412 if it changed.",
    ),
]


def check_if_match(if_match: str | None, *, current_version: int, required: bool = True) -> None:
    """Strong comparison (RFC 9110 §13.1.1); ``*`` matches any current version."""
    if if_match is None:
        if required:
            raise PreconditionRequired(
                "Send the resource's current ETag in If-Match so concurrent edits are not lost."
            )
        return
    current = etag_of(current_version)
    candidates = {candidate.strip() for candidate in if_match.split(",")}
    if "*" in candidates or current in candidates:
        return
    raise PreconditionFailed(
        f"The resource changed since you read it (If-Match {if_match}, current ETag {current}). "
        "Fetch it again and reapply your change.",
        extensions={"current_etag": current},
    )


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_of(version)


async def on_stale_data(request: Request, exc: Exception) -> Response:
    """A concurrent update won the race after our ``If-Match`` check: same answer, 412."""
    return domain_error_response(
        PreconditionFailed(
            "The resource was changed by another request at the same time. "
            "Fetch it again and reapply your change."
        ),
        instance=request.url.path,
    )


STALE_DATA_ERRORS = (StaleDataError,)
