"""The DateTime scalar: any offset in, UTC with a Z out."""

from datetime import UTC, datetime

import strawberry

from schema.errors import format_instant

FIRST_YEAR, LAST_YEAR = 1000, 9000


def parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO-8601 date-time string, got {value!r}")
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"expected an ISO-8601 date-time like 2027-03-15T09:00:00-04:00, "
            f"got {value!r}"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(
            f"expected a date-time with an offset (Z or +02:00), got {value!r}"
        )
    # Far from either end of datetime's range, so arithmetic on it (a
    # horizon, a series of 52 months) never overflows into INTERNAL.
    if not FIRST_YEAR < parsed.year < LAST_YEAR:
        raise ValueError(
            f"expected a date-time between the years {FIRST_YEAR} and "
            f"{LAST_YEAR}, got {value!r}"
        )
    return parsed.astimezone(UTC)


DateTime = strawberry.scalar(
    name="DateTime",
    description=(
        "ISO-8601 date-time with an offset. Returned in UTC with a Z, to the "
        "second; accepted with any offset, between the years 1000 and 9000. A "
        "value without an offset is refused."
    ),
    serialize=format_instant,
    parse_value=parse_datetime,
)

SCALAR_OVERRIDES = {datetime: DateTime}
