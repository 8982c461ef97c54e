"""Keyset (cursor) pagination: ``?limit=&cursor=`` in, ``{"items", "next_cursor"}`` out.

The cursor encodes the sort key of the last row served; the next page starts strictly
after it (``WHERE (created_at, id) > (:a, :b)``), so a page costs the same at row ten
million as at row ten, and rows inserted between calls never shift or repeat a page.
The sort key must end with a unique column (the id) so that it is a total order.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, literal, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel.sql.expression import SelectOfScalar

from kit.errors import BadRequest
from kit.fields import in_range_instant, storable_text

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# Our cursors are a few dozen characters; a longer one is not ours.
MAX_CURSOR_LENGTH = 1024

T = TypeVar("T")
Row = TypeVar("Row")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; `null` on the last page."
    )


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


async def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}.")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(description="The `next_cursor` of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


PageParamsDep = Annotated[PageParams, Depends(page_params)]


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


class InvalidCursor(BadRequest):
    """Anything but a ``next_cursor`` we handed out, whatever it decodes to."""

    def __init__(self, why: str = "it is not one this API handed out") -> None:
        super().__init__(
            f"The cursor parameter is not valid ({why}). Use the next_cursor of a previous "
            "page, or omit it to start from the first page.",
            extensions={"errors": [{"detail": f"cursor: {why}", "parameter": "cursor"}]},
        )


def encode_cursor_payload(payload: Any) -> str:
    """Any JSON value as an opaque, URL-safe cursor."""
    text = json.dumps(payload, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor_payload(cursor: str) -> Any:
    """The one way a cursor is read: the JSON value inside, or :class:`InvalidCursor`.

    A cursor comes from the client, so it is hostile input: its length is bounded, and
    whatever it holds (deep nesting, huge numbers, stray bytes) is a 400, never a 500.
    """
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor(f"longer than {MAX_CURSOR_LENGTH} characters")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, RecursionError, binascii.Error) as exc:
        # UnicodeError and JSONDecodeError are ValueErrors; RecursionError is deep nesting.
        raise InvalidCursor("it does not decode") from exc


def _decode_value(column: ColumnElement[Any], raw: Any) -> Any:
    """``raw`` as a value of ``column``'s type, checked as strictly as a request field."""
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        python_type = None
    if python_type is dt.datetime and isinstance(raw, str):
        return in_range_instant(dt.datetime.fromisoformat(raw))
    if python_type is uuid.UUID and isinstance(raw, str):
        return uuid.UUID(raw)
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        return python_type(raw)
    if python_type is bool and isinstance(raw, bool):
        return raw
    if python_type is int and type(raw) is int and -(2**63) <= raw < 2**63:
        return raw
    if python_type is float and type(raw) in (int, float) and math.isfinite(raw):
        return raw
    if python_type is str and isinstance(raw, str):
        return storable_text(raw)
    raise ValueError(f"a {type(raw).__name__} where the sort key holds another type")


def decode_cursor(cursor: str, columns: Sequence[Any]) -> list[Any]:
    """The sort-key values of a cursor made by :func:`encode_cursor` for ``columns``."""
    raw = decode_cursor_payload(cursor)
    if not isinstance(raw, list) or len(raw) != len(columns):
        raise InvalidCursor("it was made for another list")
    try:
        return [_decode_value(column, value) for column, value in zip(columns, raw, strict=True)]
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidCursor("it holds a value of the wrong kind") from exc


def encode_cursor(values: Sequence[Any]) -> str:
    return encode_cursor_payload([_encode_value(value) for value in values])


def _after(
    columns: Sequence[InstrumentedAttribute[Any]], values: Sequence[Any], descending: bool
) -> ColumnElement[bool]:
    """A row-value comparison, ``(a, b) > (x, y)``: one range scan on an index over
    ``(a, b)`` on both PostgreSQL and SQLite."""
    key = tuple_(*columns)
    bound = tuple_(
        *(literal(value, type_=column.type) for column, value in zip(columns, values, strict=True))
    )
    return key < bound if descending else key > bound


async def paginate(
    session: AsyncSession,
    statement: SelectOfScalar[Row],
    *,
    order_by: Sequence[Any],
    params: PageParams,
    descending: bool = False,
) -> tuple[list[Row], str | None]:
    """Run ``statement`` (selecting one entity) one page at a time, keyed on ``order_by``.

    ``order_by`` holds model attributes (``[Model.created_at, Model.id]``); they are typed
    ``Any`` because SQLModel types them as their Python values.
    """
    if params.cursor:
        statement = statement.where(
            _after(order_by, decode_cursor(params.cursor, order_by), descending)
        )
    ordering = [column.desc() if descending else column.asc() for column in order_by]
    result = await session.scalars(statement.order_by(*ordering).limit(params.limit + 1))
    rows: list[Row] = list(result.all())
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = rows[-1]
    next_cursor = encode_cursor([getattr(last, column.key) for column in order_by])
    return rows, next_cursor
