"""Optimistic concurrency: ``ETag`` out, ``If-Match`` in, 412 when they differ.

A mutable table mixes in :class:`Versioned`; SQLAlchemy then adds ``AND version = :old``
to every UPDATE, so even two requests that both passed the ``If-Match`` check cannot both
win: the second one's UPDATE matches no row and becomes a 412 as well.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from sqlalchemy.orm import declared_attr
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Field, SQLModel

from kit.errors import PreconditionFailed, PreconditionRequired, domain_error_response
from kit.raises import Answers, declare


class Versioned(SQLModel):
    """Mix into a ``table=True`` model (before the service's base) to version its rows."""

    version: int = Field(default=1, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 (declared_attr receives the class)
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def etag_of(version: int) -> str:
    return f'"{version}"'


_IfMatchValue = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The `ETag` you last read; the update is refused with 412 if it changed.",
    ),
]


@declare(Answers(statuses=(412, 428), required_headers=("If-Match",), success_headers=("ETag",)))
async def _if_match(if_match: _IfMatchValue = None) -> str | None:
    # Missing, it is a 428 from check_if_match, after the resource was found (a 404 or a
    # 403 comes first), so the value stays optional here; the document says required.
    return if_match


@declare(Answers(statuses=(412,), success_headers=("ETag",)))
async def _optional_if_match(if_match: _IfMatchValue = None) -> str | None:
    return if_match


async def _etag_response(response: Response) -> Response:
    return response


async def _located_response(response: Response) -> Response:
    return response


# ``if_match: IfMatch``: an update that needs ``If-Match`` (check_if_match's 428 and 412).
IfMatch = Annotated[str | None, Depends(_if_match)]
# ``if_match: OptionalIfMatch``: checked when sent (``check_if_match(required=False)``).
OptionalIfMatch = Annotated[str | None, Depends(_optional_if_match)]
# ``response: ETagged``: the route sets ``ETag`` on its answer (``set_etag``).
ETagged = Annotated[Response, Depends(declare(Answers(success_headers=("ETag",)))(_etag_response))]
# ``response: Located``: the route's 201 names the new resource in ``Location`` and its
# version in ``ETag``.
Located = Annotated[
    Response,
    Depends(
        declare(Answers(success_headers=("ETag",), created_headers=("Location",)))(
            _located_response
        )
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
