"""Field types every request model uses, so that input the databases cannot hold is a 422
naming the field, the same on SQLite and PostgreSQL, instead of a driver error (a 500).

* :data:`Text`: a string PostgreSQL can store. It refuses NUL (``\\u0000``; SQLite keeps
  it, PostgreSQL's ``text`` cannot) and unpaired surrogates (``\\ud800``; JSON can carry
  them, UTF-8 cannot encode them).
* :data:`Timestamp`: an instant with a timezone between :data:`EARLIEST` and
  :data:`LATEST`, normalised to UTC, sent as a string (a number is refused). Dates near
  ``datetime.min``/``max`` overflow as soon as a deadline or a window is computed from
  them; no date this product handles is outside that range.
* :data:`Flag` and :data:`Integer`: JSON's booleans and integers, strictly (no ``0`` for
  ``false``, no ``"5"`` for 5).

All are ``Annotated`` types: ``title: Text = Field(max_length=200)``,
``due_at: Timestamp | None = None``; a string type with ``StringConstraints`` adds
:data:`Storable` after them. Query and path parameters are checked for NUL once,
for every route, by kit.edge (:func:`kit.limits.unstorable_refusal`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Strict

EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = (
    "must not contain NUL characters (\\u0000) or unpaired surrogates; remove them and send "
    "the text again"
)


def has_unstorable(value: str) -> bool:
    """Whether ``value`` holds a character PostgreSQL's ``text`` cannot store."""
    return _UNSTORABLE.search(value) is not None


def storable_text(value: str) -> str:
    if has_unstorable(value):
        raise ValueError(UNSTORABLE_MESSAGE)
    return value


def in_range_instant(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC, if it has a timezone and lies between EARLIEST and LATEST."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("needs a timezone, for example 2026-03-01T17:00:00Z")
    try:
        in_utc = value.astimezone(dt.UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00
        raise ValueError(_out_of_range()) from exc
    if not EARLIEST <= in_utc <= LATEST:
        raise ValueError(_out_of_range())
    return in_utc


def _out_of_range() -> str:
    return f"must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}"


# Metadata for a string type with its own constraints, placed after them:
# ``Annotated[str, StringConstraints(...), Storable]`` (``Annotated[Text, StringConstraints]``
# would apply the constraints out of order).
Storable = AfterValidator(storable_text)
Text = Annotated[str, Storable]


def instant_text(value: object) -> object:
    """JSON has no date-time type: one is a string. A number is refused rather than read as
    seconds since 1970, which hides a client's bug (``effective_at: 0`` is not a date)."""
    if isinstance(value, int | float):
        raise ValueError("must be a date-time string such as 2026-03-01T17:00:00Z, not a number")
    return value


Timestamp = Annotated[dt.datetime, BeforeValidator(instant_text), AfterValidator(in_range_instant)]
# JSON's own types, not coerced: ``true``/``false`` only (not ``0``, ``1`` or ``"yes"``), an
# integer only (not ``"5"``, ``5.0`` or ``true``). Lax coercion would hide a client's bug.
Flag = Annotated[bool, Strict()]
Integer = Annotated[int, Strict()]


class FieldInvalid(ValueError):
    """Raised by a model validator about one of its fields: the 422 points at that field
    (``#/scenarios/0/recommended_key``) instead of the object that holds it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def looking_back(instant: dt.datetime, span: dt.timedelta) -> dt.datetime:
    """``instant - span``, or the earliest instant there is when that reaches before year 1
    (a row stored before :data:`Timestamp` bounded dates must not make a window fail)."""
    try:
        return instant - span
    except OverflowError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
