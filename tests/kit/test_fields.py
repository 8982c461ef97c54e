"""kit.fields: text PostgreSQL can store and instants in a range every computation survives."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel, Field, ValidationError

from kit.fields import EARLIEST, LATEST, Text, Timestamp, looking_back


class Form(BaseModel):
    title: Text = Field(max_length=20)
    when: Timestamp | None = None


def error_of(data: dict[str, object]) -> tuple[tuple[str | int, ...], str]:
    with pytest.raises(ValidationError) as caught:
        Form.model_validate(data)
    [error] = caught.value.errors()
    return error["loc"], error["msg"]


class TestText:
    @pytest.mark.parametrize(
        ("value", "why"),
        [("a\x00b", "NUL"), ("\x00", "NUL"), ("half \ud800 a pair", "unicode")],
    )
    def test_characters_postgresql_cannot_store_are_refused_naming_the_field(
        self, value: str, why: str
    ) -> None:
        location, message = error_of({"title": value})

        assert location == ("title",)
        assert why in message

    def test_ordinary_text_and_its_own_limits_still_apply(self) -> None:
        assert Form.model_validate({"title": "Ünïcode ✓ 😀"}).title == "Ünïcode ✓ 😀"
        assert error_of({"title": "x" * 21})[0] == ("title",)


class TestTimestamp:
    @pytest.mark.parametrize(
        "value",
        [
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",  # its UTC form is before year 1
            "9999-12-31T23:59:59-14:00",  # its UTC form is after year 9999
            "1899-12-31T23:59:59Z",
            "3000-01-01T00:00:00Z",
        ],
    )
    def test_instants_out_of_range_are_refused_naming_the_field(self, value: str) -> None:
        location, message = error_of({"title": "t", "when": value})

        assert location == ("when",)
        assert "between" in message

    def test_a_naive_instant_is_refused(self) -> None:
        location, message = error_of({"title": "t", "when": "2026-03-01T17:00:00"})

        assert location == ("when",)
        assert "timezone" in message

    def test_an_instant_in_range_comes_back_in_utc(self) -> None:
        form = Form.model_validate({"title": "t", "when": "2026-03-01T18:00:00+01:00"})

        assert form.when == dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC)
        assert EARLIEST < form.when < LATEST

    def test_a_window_reaching_before_year_one_starts_there(self) -> None:
        early = dt.datetime(1, 1, 2, tzinfo=dt.UTC)

        assert looking_back(early, dt.timedelta(days=3650)) == dt.datetime.min.replace(
            tzinfo=dt.UTC
        )
        assert looking_back(EARLIEST, dt.timedelta(days=1)) == EARLIEST - dt.timedelta(days=1)
