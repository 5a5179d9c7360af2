"""Unit tests for the pure availability engine."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from resolvers import availability_engine
from resolvers.availability_engine import (
    OpenSlot,
    Window,
    is_open_slot,
    iter_open_slots,
    parse_wall_time,
)

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, SUNDAY = 1, 2, 3, 4, 7
BOTH = ("VIDEO", "IN_PERSON")


def z(text: str) -> datetime:
    """An aware UTC instant from '2027-06-14T12:00'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def window(
    weekday: int, start: str, end: str, formats: tuple[str, ...] = BOTH
) -> Window:
    return Window(
        weekday=weekday,
        start_minute=parse_wall_time(start, allow_24=False),
        end_minute=parse_wall_time(end, allow_24=True),
        formats=formats,
    )


def settings(**overrides: Any) -> dict[str, Any]:
    """Engine keyword arguments; defaults are a permissive provider in UTC."""
    base: dict[str, Any] = {
        "windows": [],
        "timezone": "UTC",
        "duration_minutes": 60,
        "step_minutes": 60,
        "buffer_minutes": 0,
        "busy": [],
        "time_off": [],
        "now": z("2027-01-01T00:00"),
        "minimum_notice_hours": 0,
        "booking_horizon_days": 800,
    }
    base.update(overrides)
    return base


def slots(
    range_start: datetime, range_end: datetime, **overrides: Any
) -> list[OpenSlot]:
    return list(
        iter_open_slots(
            **settings(**overrides), range_start=range_start, range_end=range_end
        )
    )


def starts(
    range_start: datetime, range_end: datetime, **overrides: Any
) -> list[datetime]:
    return [s.starts_at for s in slots(range_start, range_end, **overrides)]


def first_start(
    range_start: datetime, range_end: datetime, **overrides: Any
) -> datetime:
    found = next(
        iter_open_slots(
            **settings(**overrides), range_start=range_start, range_end=range_end
        ),
        None,
    )
    assert found is not None
    return found.starts_at


def hourly(day: str, *hours: int) -> list[datetime]:
    """UTC instants on the hour on one date: hourly('2027-06-14', 9, 10)."""
    return [z(f"{day}T{hour:02d}:00") for hour in hours]


def check(starts_at: datetime, **overrides: Any) -> OpenSlot | None:
    return is_open_slot(**settings(**overrides), starts_at=starts_at)


# --- 1. wall-clock windows across US daylight saving -------------------------

NEW_YORK_MONDAYS = {
    "windows": [window(MONDAY, "09:00", "17:00")],
    "timezone": "America/New_York",
    "duration_minutes": 50,
    "step_minutes": 30,
}


@pytest.mark.parametrize(
    ("monday", "expected"),
    [
        ("2027-11-01", "2027-11-01T13:00"),  # still EDT (-4)
        ("2027-11-08", "2027-11-08T14:00"),  # EST (-5) after 2027-11-07
        ("2027-03-08", "2027-03-08T14:00"),  # EST before 2027-03-14
        ("2027-03-15", "2027-03-15T13:00"),  # EDT after 2027-03-14
    ],
)
def test_nine_am_new_york_stays_nine_am_local_across_dst(
    monday: str, expected: str
) -> None:
    day = z(f"{monday}T00:00")
    assert first_start(day, day + timedelta(days=1), **NEW_YORK_MONDAYS) == z(expected)


def test_is_open_slot_follows_the_local_clock_after_fall_back() -> None:
    assert check(z("2027-11-08T13:00"), **NEW_YORK_MONDAYS) is None
    assert check(z("2027-11-08T14:00"), **NEW_YORK_MONDAYS) == OpenSlot(
        starts_at=z("2027-11-08T14:00"), ends_at=z("2027-11-08T14:50"), formats=BOTH
    )


def test_slots_lie_wholly_inside_the_window_on_a_thirty_minute_grid() -> None:
    day = z("2027-11-08T00:00")
    found = starts(day, day + timedelta(days=1), **NEW_YORK_MONDAYS)
    # 09:00..16:00 EST every 30 min; 16:30 would end at 17:20, past the window.
    half_hours = [timedelta(minutes=30 * i) for i in range(15)]
    assert found == [z("2027-11-08T14:00") + offset for offset in half_hours]
    assert found[-1] == z("2027-11-08T21:00")


# --- 2. southern hemisphere -------------------------------------------------


@pytest.mark.parametrize(
    ("monday", "expected"),
    [
        ("2027-03-29", "2027-03-28T22:00"),  # AEDT (+11), DST ends 2027-04-04
        ("2027-04-05", "2027-04-04T23:00"),  # AEST (+10)
        ("2027-09-27", "2027-09-26T23:00"),  # AEST, DST starts 2027-10-03
        ("2027-10-04", "2027-10-03T22:00"),  # AEDT
    ],
)
def test_sydney_monday_nine_am_around_each_dst_change(
    monday: str, expected: str
) -> None:
    local_midnight = datetime.fromisoformat(monday).replace(
        tzinfo=ZoneInfo("Australia/Sydney")
    )
    found = slots(
        local_midnight,
        local_midnight + timedelta(days=1),
        windows=[window(MONDAY, "09:00", "10:00")],
        timezone="Australia/Sydney",
    )
    # The instant is a Sunday in UTC, yet it is the provider's Monday window.
    assert [s.starts_at for s in found] == [z(expected)]
    assert found[0].starts_at.tzinfo is UTC
    assert found[0].ends_at == z(expected) + timedelta(hours=1)


# --- 3. the weekday belongs to the provider's zone ---------------------------

LOS_ANGELES_MONDAY_EVENINGS = {
    "windows": [window(MONDAY, "17:00", "21:00")],
    "timezone": "America/Los_Angeles",
}
LA_MONDAY_EVENING_SLOTS = [
    z("2027-06-15T00:00"),
    z("2027-06-15T01:00"),
    z("2027-06-15T02:00"),
    z("2027-06-15T03:00"),
]


def test_los_angeles_monday_evening_is_tuesday_in_utc() -> None:
    found = starts(
        z("2027-06-14T07:00"), z("2027-06-15T07:00"), **LOS_ANGELES_MONDAY_EVENINGS
    )
    assert found == LA_MONDAY_EVENING_SLOTS


def test_a_tokyo_tuesday_range_finds_the_same_los_angeles_monday_slots() -> None:
    found = starts(
        z("2027-06-14T15:00"), z("2027-06-15T15:00"), **LOS_ANGELES_MONDAY_EVENINGS
    )
    assert found == LA_MONDAY_EVENING_SLOTS


def test_a_utc_monday_range_does_not_pick_up_the_los_angeles_monday_evening() -> None:
    # Weekday comes from the local date: UTC Monday 2027-06-14 holds no LA slot.
    assert starts(
        z("2027-06-14T00:00"), z("2027-06-15T00:00"), **LOS_ANGELES_MONDAY_EVENINGS
    ) == []


# --- 4. windows ending at 24:00 and wall-time parsing -------------------------

NEW_YORK_WEDNESDAY_LATE = {
    "windows": [window(WEDNESDAY, "21:00", "24:00")],
    "timezone": "America/New_York",
}


def test_a_window_ending_at_midnight_runs_to_the_next_local_midnight() -> None:
    found = starts(
        z("2027-06-16T00:00"), z("2027-06-18T00:00"), **NEW_YORK_WEDNESDAY_LATE
    )
    assert found == hourly("2027-06-17", 1, 2, 3)
    last = check(z("2027-06-17T03:00"), **NEW_YORK_WEDNESDAY_LATE)
    assert last is not None
    assert last.ends_at == z("2027-06-17T04:00")
    assert check(z("2027-06-17T04:00"), **NEW_YORK_WEDNESDAY_LATE) is None


def test_parse_wall_time_accepts_hh_mm_and_24_00_only_when_allowed() -> None:
    assert parse_wall_time("00:00", allow_24=False) == 0
    assert parse_wall_time("09:00", allow_24=False) == 540
    assert parse_wall_time("23:59", allow_24=True) == 1439
    assert parse_wall_time("24:00", allow_24=True) == 1440
    with pytest.raises(ValueError):
        parse_wall_time("24:00", allow_24=False)


@pytest.mark.parametrize(
    "text", ["25:00", "9:00am", "", "12:60", "9:00", "24:30", " 09:00", "09:00:00"]
)
def test_parse_wall_time_rejects_anything_else(text: str) -> None:
    with pytest.raises(ValueError):
        parse_wall_time(text, allow_24=True)


def test_parse_wall_time_error_is_a_human_message() -> None:
    with pytest.raises(ValueError) as error:
        parse_wall_time("9am", allow_24=False)
    assert str(error.value) == "expected a time like 09:00, got '9am'"


# --- 5. leap day --------------------------------------------------------------


def test_a_tuesday_window_yields_slots_on_leap_day_2028() -> None:
    found = starts(
        z("2028-02-28T00:00"),
        z("2028-03-02T00:00"),
        windows=[window(TUESDAY, "09:00", "12:00")],
        timezone="Europe/London",
    )
    assert found == hourly("2028-02-29", 9, 10, 11)


# --- 6. minimum notice --------------------------------------------------------

WEDNESDAY_ALL_DAY_WITH_NOTICE = {
    "windows": [window(WEDNESDAY, "00:00", "24:00")],
    "now": z("2027-06-14T12:00"),
    "minimum_notice_hours": 48,
}


def test_notice_refuses_starts_before_now_plus_notice() -> None:
    assert check(z("2027-06-16T11:00"), **WEDNESDAY_ALL_DAY_WITH_NOTICE) is None
    assert check(z("2027-06-16T12:00"), **WEDNESDAY_ALL_DAY_WITH_NOTICE) is not None
    found = starts(
        z("2027-06-16T00:00"), z("2027-06-17T00:00"), **WEDNESDAY_ALL_DAY_WITH_NOTICE
    )
    assert found[0] == z("2027-06-16T12:00")
    assert len(found) == 12


def test_a_start_in_the_past_is_refused() -> None:
    assert check(z("2027-06-09T12:00"), **WEDNESDAY_ALL_DAY_WITH_NOTICE) is None
    assert check(
        z("2027-06-09T12:00"),
        **{**WEDNESDAY_ALL_DAY_WITH_NOTICE, "minimum_notice_hours": 0},
    ) is None


def test_an_off_grid_start_is_refused() -> None:
    assert check(z("2027-06-16T12:17"), **WEDNESDAY_ALL_DAY_WITH_NOTICE) is None


def test_is_open_slot_accepts_the_same_instant_in_another_zone() -> None:
    in_new_york = z("2027-06-16T12:00").astimezone(ZoneInfo("America/New_York"))
    slot = check(in_new_york, **WEDNESDAY_ALL_DAY_WITH_NOTICE)
    assert slot is not None
    assert slot.starts_at == z("2027-06-16T12:00")
    assert slot.starts_at.tzinfo is UTC


# --- 7. booking horizon -------------------------------------------------------

THURSDAY_ALL_DAY_TEN_DAY_HORIZON = {
    "windows": [window(THURSDAY, "00:00", "24:00")],
    "now": z("2027-06-14T12:00"),
    "booking_horizon_days": 10,
}


def test_a_start_exactly_at_the_horizon_is_allowed_one_step_past_is_not() -> None:
    horizon = z("2027-06-24T12:00")
    assert check(horizon, **THURSDAY_ALL_DAY_TEN_DAY_HORIZON) is not None
    one_step_past = horizon + timedelta(hours=1)
    assert check(one_step_past, **THURSDAY_ALL_DAY_TEN_DAY_HORIZON) is None
    found = starts(
        z("2027-06-24T00:00"), z("2027-06-25T00:00"), **THURSDAY_ALL_DAY_TEN_DAY_HORIZON
    )
    assert found[-1] == horizon
    assert len(found) == 13


# --- 8. buffer around bookings ------------------------------------------------

BUFFERED_MONDAY = {
    "windows": [window(MONDAY, "09:00", "17:00")],
    "duration_minutes": 50,
    "step_minutes": 30,
    "buffer_minutes": 10,
    "busy": [(z("2027-06-14T10:00"), z("2027-06-14T10:50"))],
}


def test_the_buffer_after_a_booking_is_kept_free() -> None:
    assert check(z("2027-06-14T11:00"), **BUFFERED_MONDAY) is not None
    assert check(z("2027-06-14T10:30"), **BUFFERED_MONDAY) is None
    # 09:00-09:50 plus its own 10 minutes ends exactly when the booking starts.
    assert check(z("2027-06-14T09:00"), **BUFFERED_MONDAY) is not None
    assert check(z("2027-06-14T09:30"), **BUFFERED_MONDAY) is None


def test_a_slot_whose_end_plus_buffer_runs_into_a_later_booking_is_excluded() -> None:
    booking = (z("2027-06-14T12:55"), z("2027-06-14T13:45"))
    later = {**BUFFERED_MONDAY, "busy": [booking]}
    # 12:00-12:50 does not overlap the booking, but 12:50 + 10 min does.
    assert check(z("2027-06-14T12:00"), **later) is None
    assert check(z("2027-06-14T11:30"), **later) is not None
    found = starts(z("2027-06-14T00:00"), z("2027-06-15T00:00"), **later)
    assert z("2027-06-14T12:00") not in found
    assert z("2027-06-14T14:00") in found
    assert z("2027-06-14T13:30") not in found


def test_thousands_of_busy_intervals_in_any_order_match_a_brute_force_check() -> None:
    rng = random.Random(20270614)
    base = z("2027-01-04T00:00")
    busy = []
    for _ in range(3000):
        start = base + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        busy.append((start, start + timedelta(minutes=rng.choice([30, 50, 90]))))
    rng.shuffle(busy)
    common = {
        "windows": [window(day, "08:00", "20:00") for day in range(1, 8)],
        "duration_minutes": 50,
        "step_minutes": 15,
        "buffer_minutes": 10,
        "booking_horizon_days": 400,
    }
    everything = slots(base, base + timedelta(days=365), **common)
    pad = timedelta(minutes=10)
    # Reference: a plain overlap test against every booking starting within a
    # day of the slot (bookings last at most 90 minutes, so none is missed).
    by_date: dict[date, list[tuple[datetime, datetime]]] = defaultdict(list)
    for a, b in busy:
        by_date[a.date()].append((a, b))
    near = [timedelta(days=d) for d in (-1, 0, 1)]
    expected = [
        s
        for s in everything
        if not any(
            s.starts_at < b + pad and a < s.ends_at + pad
            for d in near
            for a, b in by_date[s.starts_at.date() + d]
        )
    ]
    found = slots(base, base + timedelta(days=365), **common, busy=busy)
    assert found == expected
    assert 0 < len(found) < len(everything)


# --- 9. time off --------------------------------------------------------------


def test_time_off_removes_only_the_slots_it_overlaps() -> None:
    paris = ZoneInfo("Europe/Paris")
    # 13:30-15:00 Paris summer time is 11:30-13:00 UTC.
    time_off = [
        (
            datetime(2027, 6, 14, 13, 30, tzinfo=paris),
            datetime(2027, 6, 14, 15, 0, tzinfo=paris),
        )
    ]
    found = starts(
        z("2027-06-14T00:00"),
        z("2027-06-15T00:00"),
        windows=[window(MONDAY, "09:00", "17:00")],
        time_off=time_off,
    )
    hours = [9, 10, 13, 14, 15, 16]
    assert found == [z(f"2027-06-14T{h:02d}:00") for h in hours]


def test_time_off_ignores_empty_intervals() -> None:
    empty = [(z("2027-06-14T10:30"), z("2027-06-14T10:30"))]
    found = starts(
        z("2027-06-14T00:00"),
        z("2027-06-15T00:00"),
        windows=[window(MONDAY, "09:00", "12:00")],
        time_off=empty,
    )
    assert found == hourly("2027-06-14", 9, 10, 11)


# --- 10. range semantics and overlapping windows ------------------------------

MONDAY_HOURLY = {"windows": [window(MONDAY, "09:00", "17:00")]}


def test_range_includes_a_start_at_from_and_excludes_a_start_at_to() -> None:
    found = starts(z("2027-06-14T10:00"), z("2027-06-14T13:00"), **MONDAY_HOURLY)
    assert found == hourly("2027-06-14", 10, 11, 12)


def test_an_empty_or_inverted_range_yields_nothing() -> None:
    at = z("2027-06-14T10:00")
    assert starts(at, at, **MONDAY_HOURLY) == []
    assert starts(at, at - timedelta(days=1), **MONDAY_HOURLY) == []


def test_overlapping_windows_yield_each_start_once_sorted_with_first_formats() -> None:
    found = slots(
        z("2027-06-14T00:00"),
        z("2027-06-15T00:00"),
        windows=[
            window(MONDAY, "10:00", "14:00", ("IN_PERSON",)),
            window(MONDAY, "09:00", "12:00", ("VIDEO",)),
            window(MONDAY, "09:30", "11:30", ("PHONE",)),
        ],
    )
    assert [(s.starts_at, s.formats) for s in found] == [
        (z("2027-06-14T09:00"), ("VIDEO",)),
        (z("2027-06-14T09:30"), ("PHONE",)),
        (z("2027-06-14T10:00"), ("IN_PERSON",)),
        (z("2027-06-14T10:30"), ("PHONE",)),
        (z("2027-06-14T11:00"), ("IN_PERSON",)),
        (z("2027-06-14T12:00"), ("IN_PERSON",)),
        (z("2027-06-14T13:00"), ("IN_PERSON",)),
    ]


def test_merged_output_across_a_year_equals_the_sorted_union_of_each_window() -> None:
    # Chatham's +13:45/+12:45 offsets put local dates far from UTC dates.
    windows = [
        window(day, start, end, (f"{day}-{start}",))
        for day in range(1, 8)
        for start, end in [("00:00", "03:00"), ("01:30", "24:00"), ("22:00", "24:00")]
    ]
    common = {
        "timezone": "Pacific/Chatham",
        "step_minutes": 45,
        "duration_minutes": 45,
        "booking_horizon_days": 400,
    }
    year = (z("2027-01-01T00:00"), z("2028-01-01T00:00"))
    found = starts(*year, windows=windows, **common)
    union = {s for w in windows for s in starts(*year, windows=[w], **common)}
    assert found == sorted(union)
    assert all(a < b for a, b in zip(found, found[1:]))


# --- 11. bounded work ---------------------------------------------------------

DAILY_NINE_AM = {
    "windows": [window(day, "09:00", "10:00") for day in range(1, 8)],
    "now": z("2027-01-01T00:00"),
    "booking_horizon_days": 60,
}


def test_a_hundred_year_range_returns_only_the_horizons_worth() -> None:
    found = starts(z("2027-01-01T00:00"), z("2127-01-01T00:00"), **DAILY_NINE_AM)
    assert len(found) == 60
    assert found[0] == z("2027-01-01T09:00")
    assert found[-1] == z("2027-03-01T09:00")


def count_dates_walked(
    monkeypatch: pytest.MonkeyPatch, consume: int | None, **overrides: Any
) -> int:
    calls = 0
    real = availability_engine._window_starts

    def counting(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(*args)

    monkeypatch.setattr(availability_engine, "_window_starts", counting)
    found = iter_open_slots(
        **settings(**{**DAILY_NINE_AM, **overrides}),
        range_start=z("2027-01-01T00:00"),
        range_end=z("2127-01-01T00:00"),
    )
    if consume is None:
        list(found)
    else:
        for _ in range(consume):
            next(found)
    return calls


def test_work_grows_with_the_horizon_not_the_requested_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sixty = count_dates_walked(monkeypatch, None)
    year = count_dates_walked(monkeypatch, None, booking_horizon_days=365)
    assert sixty <= 60 + 3
    assert year <= 365 + 3


def test_the_next_available_slot_is_cheap_even_with_a_long_horizon(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert count_dates_walked(monkeypatch, 1, booking_horizon_days=36500) <= 4


def count_blocked_checks(monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> int:
    calls = 0
    real = availability_engine._Blocks.free_from

    def counting(self: Any, s: datetime, e: datetime) -> Any:
        nonlocal calls
        calls += 1
        return real(self, s, e)

    monkeypatch.setattr(availability_engine._Blocks, "free_from", counting)
    list(
        iter_open_slots(
            **settings(**overrides),
            range_start=z("2027-01-01T00:00"),
            range_end=z("2028-01-01T00:00"),
        )
    )
    return calls


def test_a_year_of_time_off_costs_a_check_per_window_and_date_not_per_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given whole-day windows on a 5-minute grid (288 starts a day), all off
    whole_days = [window(day, "00:00", "24:00") for day in range(1, 8)] * 3
    year_off = [(z("2026-12-01T00:00"), z("2028-02-01T00:00"))]

    checks = count_blocked_checks(
        monkeypatch,
        windows=whole_days,
        step_minutes=5,
        duration_minutes=5,
        booking_horizon_days=365,
        time_off=year_off,
    )

    # then each window and date is settled in one look-up, not 288
    assert checks <= 3 * 367


def test_a_run_of_bookings_is_jumped_over_not_walked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a day booked solid, appointment after appointment, then free time
    monday = z("2027-06-14T00:00")
    booked = [
        (monday + timedelta(minutes=50 * i), monday + timedelta(minutes=50 * (i + 1)))
        for i in range(20)
    ]

    checks = count_blocked_checks(
        monkeypatch,
        windows=[window(MONDAY, "00:00", "24:00")],
        step_minutes=5,
        duration_minutes=50,
        busy=booked,
        now=z("2027-06-13T00:00"),
        booking_horizon_days=2,
    )

    # one check per booking jumped, one per open start after them
    free_starts = (24 * 60 - 20 * 50 - 50) // 5 + 1
    assert checks <= 20 + free_starts + 1


@pytest.mark.parametrize("seed", range(12))
def test_jumping_past_blocks_finds_exactly_the_starts_a_full_walk_finds(
    seed: int,
) -> None:
    # given a random calendar: windows, bookings with a buffer, time off
    rng = random.Random(seed)
    minute = lambda: rng.randrange(0, 24 * 60, 15)  # noqa: E731
    windows = []
    for _ in range(rng.randint(1, 6)):
        a, b = sorted(rng.sample(range(0, 24 * 60 + 1, 15), 2))
        windows.append(
            Window(rng.randint(1, 7), a, b, (rng.choice(["VIDEO", "IN_PERSON"]),))
        )
    day0 = z("2027-03-08T00:00")

    def spans(count: int, longest: int) -> list[tuple[datetime, datetime]]:
        found = []
        for _ in range(count):
            start = day0 + timedelta(days=rng.randrange(14), minutes=minute())
            found.append((start, start + timedelta(minutes=rng.randint(5, longest))))
        return found

    common = {
        "windows": windows,
        "timezone": rng.choice(["America/New_York", "Australia/Sydney", "UTC"]),
        "duration_minutes": rng.choice([15, 50, 60]),
        "step_minutes": rng.choice([5, 15, 30]),
        "buffer_minutes": rng.choice([0, 10, 25]),
        "now": day0,
        "booking_horizon_days": 14,
    }
    busy, time_off = spans(rng.randint(0, 30), 120), spans(rng.randint(0, 4), 2000)
    fortnight = (day0, day0 + timedelta(days=15))

    # when the engine lists them, and a full walk filters the unblocked list
    found = slots(*fortnight, busy=busy, time_off=time_off, **common)
    pad = timedelta(minutes=common["buffer_minutes"])

    def blocked(slot: OpenSlot) -> bool:
        s, e = slot.starts_at, slot.ends_at
        return any(s < b and a < e for a, b in time_off) or any(
            s < b + pad and a < e + pad for a, b in busy
        )

    walked = [x for x in slots(*fortnight, **common) if not blocked(x)]

    # then both agree, formats included
    assert found == walked


# --- daylight-saving edge cases do not crash ----------------------------------


def test_a_window_starting_in_the_spring_forward_gap_starts_after_the_gap() -> None:
    # 02:00 does not exist on 2027-03-14 in New York; fold=0 reads it as EST,
    # i.e. 07:00Z (03:00 EDT). 04:00 EDT is 08:00Z, so an hour of real time.
    found = starts(
        z("2027-03-14T00:00"),
        z("2027-03-15T00:00"),
        windows=[window(SUNDAY, "02:00", "04:00")],
        timezone="America/New_York",
        duration_minutes=30,
        step_minutes=30,
    )
    assert found == [z("2027-03-14T07:00"), z("2027-03-14T07:30")]


def test_a_window_starting_at_an_ambiguous_time_uses_its_first_occurrence() -> None:
    # 01:00 happens twice on 2027-11-07 in New York; fold=0 picks 01:00 EDT
    # (05:00Z). 02:00 EST is 07:00Z, so the window is two real hours long.
    found = starts(
        z("2027-11-07T00:00"),
        z("2027-11-08T00:00"),
        windows=[window(SUNDAY, "01:00", "02:00")],
        timezone="America/New_York",
    )
    assert found == [z("2027-11-07T05:00"), z("2027-11-07T06:00")]


def test_a_window_entirely_inside_the_gap_shifts_by_the_gap_length() -> None:
    found = starts(
        z("2027-03-14T00:00"),
        z("2027-03-15T00:00"),
        windows=[window(SUNDAY, "02:15", "02:45")],
        timezone="America/New_York",
        duration_minutes=15,
        step_minutes=15,
    )
    # Both ends sit in the gap and shift by the same hour: 07:15Z..07:45Z.
    assert found == [z("2027-03-14T07:15"), z("2027-03-14T07:30")]


def test_a_skipped_local_date_yields_each_instant_once_in_order() -> None:
    # Samoa skipped Friday 2011-12-30: fold=0 maps that date's wall times onto
    # Saturday's instants, so both dates produce the same starts.
    found = slots(
        z("2011-12-29T00:00"),
        z("2012-01-01T00:00"),
        windows=[window(day, "09:00", "12:00", (str(day),)) for day in range(1, 8)],
        timezone="Pacific/Apia",
        now=z("2011-12-01T00:00"),
    )
    assert [(s.starts_at, s.formats) for s in found] == [
        (z("2011-12-29T19:00"), ("4",)),
        (z("2011-12-29T20:00"), ("4",)),
        (z("2011-12-29T21:00"), ("4",)),
        # The earlier local date's window wins a tie, like the first window does.
        (z("2011-12-30T19:00"), ("5",)),
        (z("2011-12-30T20:00"), ("5",)),
        (z("2011-12-30T21:00"), ("5",)),
        (z("2011-12-31T19:00"), ("7",)),
        (z("2011-12-31T20:00"), ("7",)),
        (z("2011-12-31T21:00"), ("7",)),
    ]


# --- argument validation ------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"windows": [Window(weekday=0, start_minute=0, end_minute=60, formats=BOTH)]},
        {"windows": [Window(weekday=1, start_minute=60, end_minute=60, formats=BOTH)]},
        {"windows": [Window(weekday=1, start_minute=0, end_minute=1441, formats=BOTH)]},
        {"duration_minutes": 0},
        {"step_minutes": 0},
        {"buffer_minutes": -1},
        {"timezone": "Mars/Olympus_Mons"},
        {"now": datetime(2027, 1, 1)},
        {"busy": [(datetime(2027, 1, 1), datetime(2027, 1, 2))]},
    ],
)
def test_bad_arguments_raise_value_error_before_iteration(
    overrides: dict[str, Any],
) -> None:
    with pytest.raises(ValueError):
        iter_open_slots(
            **settings(**overrides),
            range_start=z("2027-06-14T00:00"),
            range_end=z("2027-06-15T00:00"),
        )


def test_a_naive_start_is_rejected_by_is_open_slot() -> None:
    with pytest.raises(ValueError):
        check(datetime(2027, 6, 14, 10, 0), **MONDAY_HOURLY)
