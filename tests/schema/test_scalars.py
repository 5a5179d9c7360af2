"""The DateTime scalar: any offset in, UTC out, and nothing that overflows."""

from datetime import UTC, datetime

import pytest

from schema.scalars import parse_datetime


def test_an_offset_is_read_and_converted_to_utc():
    assert parse_datetime("2027-03-15T09:00:00-04:00") == datetime(
        2027, 3, 15, 13, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+01:00",  # before datetime's range in UTC
        "9999-12-31T23:00:00-05:00",  # after it
        "0999-12-31T00:00:00Z",
        "9000-01-01T00:00:00Z",
    ],
)
def test_a_year_out_of_range_is_refused_in_words(text):
    with pytest.raises(ValueError, match="between the years 1000 and 9000"):
        parse_datetime(text)


def test_a_date_time_without_an_offset_is_refused():
    with pytest.raises(ValueError, match="with an offset"):
        parse_datetime("2027-03-15T09:00")
