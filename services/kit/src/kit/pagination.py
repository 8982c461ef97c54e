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
import json
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

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

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
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def _decode_value(column: InstrumentedAttribute[Any], raw: Any) -> Any:
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return raw
    if python_type is dt.datetime:
        return dt.datetime.fromisoformat(raw)
    if python_type is uuid.UUID:
        return uuid.UUID(raw)
    if python_type in (int, str, float, bool) and not isinstance(raw, python_type):
        raise ValueError(f"expected {python_type.__name__}")
    return raw


def encode_cursor(values: Sequence[Any]) -> str:
    payload = json.dumps([_encode_value(value) for value in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, columns: Sequence[InstrumentedAttribute[Any]]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(raw, list) or len(raw) != len(columns):
            raise ValueError("wrong shape")
        return [_decode_value(column, value) for column, value in zip(columns, raw, strict=True)]
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise BadRequest(
            "The cursor is not valid. Use the next_cursor of a previous page, or omit it to "
            "start from the first page."
        ) from exc


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
