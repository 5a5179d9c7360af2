"""Pure availability engine: weekly wall-clock windows to bookable UTC slots."""

from __future__ import annotations

import heapq
import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "MAX_BUFFER",
    "MAX_BUFFER_MINUTES",
    "OpenSlot",
    "Window",
    "colliding_starts",
    "is_open_slot",
    "iter_open_slots",
    "parse_wall_time",
]

_MINUTES_PER_DAY = 1440
# The longest buffer a provider may keep after an appointment.
MAX_BUFFER_MINUTES = 240
MAX_BUFFER = timedelta(minutes=MAX_BUFFER_MINUTES)
_ONE_DAY = timedelta(days=1)
# ASCII digits only: \d would also accept e.g. Arabic-Indic digits.
_WALL_TIME = re.compile(r"([0-9]{2}):([0-9]{2})")


@dataclass(frozen=True, slots=True)
class Window:
    weekday: int  # 1 = Monday … 7 = Sunday, in the provider's time zone
    start_minute: int  # minutes after local midnight, 0..1439
    end_minute: int  # 1..1440; 1440 means "24:00"; end > start
    formats: tuple[str, ...]  # copied onto each slot of this window


@dataclass(frozen=True, slots=True)
class OpenSlot:
    starts_at: datetime  # aware, UTC
    ends_at: datetime  # aware, UTC
    formats: tuple[str, ...]


def parse_wall_time(text: str, *, allow_24: bool) -> int:
    """Minutes after midnight for 'HH:MM'; '24:00' (1440) only when allow_24."""
    match = _WALL_TIME.fullmatch(text) if isinstance(text, str) else None
    if match is not None:
        hours, minutes = int(match.group(1)), int(match.group(2))
        if hours < 24 and minutes < 60:
            return hours * 60 + minutes
        if hours == 24 and minutes == 0:
            if allow_24:
                return _MINUTES_PER_DAY
            raise ValueError("24:00 is only allowed as the end of a window")
    raise ValueError(f"expected a time like 09:00, got {text!r}")


class _IntervalIndex:
    """Answers "does [s, e) come within pad of any interval?" in O(log n)."""

    __slots__ = ("_starts", "_max_ends")

    def __init__(self, intervals: Sequence[tuple[datetime, datetime]]) -> None:
        # Empty or inverted intervals block nothing, so they are dropped.
        cleaned = sorted(
            (_utc(a, "interval start"), _utc(b, "interval end")) for a, b in intervals
        )
        cleaned = [(a, b) for a, b in cleaned if b > a]
        self._starts = [a for a, _ in cleaned]
        # Sorted by start, a prefix maximum of ends tells whether any interval
        # that starts early enough also ends late enough, without a scan.
        self._max_ends = list(accumulate((b for _, b in cleaned), max))

    def collides(self, s: datetime, e: datetime, pad: timedelta) -> bool:
        return self.free_from(s, e, pad) is not None

    def free_from(self, s: datetime, e: datetime, pad: timedelta) -> datetime | None:
        """None if [s, e) is clear; else the earliest start that might be.

        [s, e) collides with [a, b) when s < b + pad and a < e + pad. Every
        interval that starts early enough to block s also blocks any later
        start until the latest of their ends, plus pad, has passed.
        """
        count = bisect_left(self._starts, e + pad)
        if count == 0:
            return None
        clear_from = self._max_ends[count - 1] + pad
        return clear_from if clear_from > s else None


def _utc(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, got {value!r}")
    return value.astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _check_window(window: Window) -> None:
    if not 1 <= window.weekday <= 7:
        raise ValueError(f"window weekday must be 1..7, got {window.weekday}")
    if not 0 <= window.start_minute < window.end_minute <= _MINUTES_PER_DAY:
        raise ValueError(
            "window must satisfy 0 <= start < end <= 1440, got "
            f"{window.start_minute}..{window.end_minute}"
        )


def _local_instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    # fold=0: a nonexistent (spring-forward) time takes the pre-gap offset, so it
    # lands gap-length later; an ambiguous (fall-back) time is its first occurrence.
    if minute == _MINUTES_PER_DAY:
        day, minute = day + _ONE_DAY, 0
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    return wall.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class _Blocks:
    """What keeps a start from being offered: time off, and bookings + buffer."""

    time_off: _IntervalIndex
    busy: _IntervalIndex
    buffer: timedelta

    def free_from(self, s: datetime, e: datetime) -> datetime | None:
        return self.time_off.free_from(s, e, timedelta(0)) or self.busy.free_from(
            s, e, self.buffer
        )


def _first_grid_point(origin: datetime, step: timedelta, at_least: datetime) -> int:
    """How many steps from origin to the first grid point >= at_least."""
    return max(0, -((origin - at_least) // step))


def _window_starts(
    day: date,
    window: Window,
    zone: ZoneInfo,
    step: timedelta,
    duration: timedelta,
    lo: datetime,
    hi: datetime,
    blocks: _Blocks,
) -> Iterator[datetime]:
    """Open grid starts of one window on one local date, clipped to [lo, hi).

    A blocked start jumps past what blocks it, so a year of time off costs a
    few look-ups per window and date, not one per grid point.
    """
    window_start = _local_instant(day, window.start_minute, zone)
    window_end = _local_instant(day, window.end_minute, zone)
    s = window_start + _first_grid_point(window_start, step, lo) * step
    while s < hi and s + duration <= window_end:
        clear_from = blocks.free_from(s, s + duration)
        if clear_from is None:
            yield s
            s += step
        else:
            s = window_start + _first_grid_point(window_start, step, clear_from) * step


def iter_open_slots(
    *,
    windows: Sequence[Window],
    timezone: str,
    duration_minutes: int,
    step_minutes: int,
    buffer_minutes: int,
    busy: Sequence[tuple[datetime, datetime]],
    time_off: Sequence[tuple[datetime, datetime]],
    now: datetime,
    minimum_notice_hours: int,
    booking_horizon_days: int,
    range_start: datetime,
    range_end: datetime,
) -> Iterator[OpenSlot]:
    """Yields open slots soonest first, lazily, starting in [range_start, range_end).

    Arguments are validated eagerly (ValueError), before the first next().
    """
    if duration_minutes <= 0 or step_minutes <= 0:
        raise ValueError("duration_minutes and step_minutes must be positive")
    if buffer_minutes < 0 or minimum_notice_hours < 0 or booking_horizon_days < 0:
        raise ValueError("buffer, notice and horizon must not be negative")
    for window in windows:
        _check_window(window)
    zone = _zone(timezone)
    now_utc = _utc(now, "now")
    range_start_utc = _utc(range_start, "range_start")
    range_end_utc = _utc(range_end, "range_end")
    by_weekday: dict[int, list[tuple[int, Window]]] = {d: [] for d in range(1, 8)}
    for index, window in enumerate(windows):
        by_weekday[window.weekday].append((index, window))
    return _generate(
        by_weekday=by_weekday,
        zone=zone,
        duration=timedelta(minutes=duration_minutes),
        step=timedelta(minutes=step_minutes),
        blocks=_Blocks(
            time_off=_IntervalIndex(time_off),
            busy=_IntervalIndex(busy),
            buffer=timedelta(minutes=buffer_minutes),
        ),
        lo=max(range_start_utc, now_utc + timedelta(hours=minimum_notice_hours)),
        # A start exactly at now + horizon is allowed; one microsecond past it
        # (datetime's resolution) is the tightest exclusive bound, so the walk
        # never goes past the horizon however far away range_end is.
        hi=min(
            range_end_utc,
            now_utc + timedelta(days=booking_horizon_days) + timedelta.resolution,
        ),
    )


def _generate(
    *,
    by_weekday: dict[int, list[tuple[int, Window]]],
    zone: ZoneInfo,
    duration: timedelta,
    step: timedelta,
    blocks: _Blocks,
    lo: datetime,
    hi: datetime,
) -> Iterator[OpenSlot]:
    if hi <= lo:
        return
    # Local dates are not UTC dates and DST gaps make wall->UTC non-monotonic,
    # so candidates wait in a heap until no later local date can precede them.
    pending: list[tuple[datetime, int, int, tuple[str, ...]]] = []
    last_yielded: datetime | None = None
    day = lo.astimezone(zone).date() - _ONE_DAY
    last_day = hi.astimezone(zone).date() + _ONE_DAY
    while True:
        for index, window in by_weekday[day.isoweekday()]:
            starts = _window_starts(day, window, zone, step, duration, lo, hi, blocks)
            for s in starts:
                heapq.heappush(pending, (s, day.toordinal(), index, window.formats))
        if day >= last_day:
            watermark = None
        else:
            # Every UTC offset is under 24 h, so any wall time on a later local
            # date maps to an instant after this date's midnight read as UTC.
            watermark = datetime.combine(day, time(), tzinfo=UTC)
        while pending and (watermark is None or pending[0][0] < watermark):
            s, _, _, formats = heapq.heappop(pending)
            # Equal starts pop in (date, window order), so the first window's
            # formats win and overlapping windows yield each start once.
            if s != last_yielded:
                last_yielded = s
                yield OpenSlot(starts_at=s, ends_at=s + duration, formats=formats)
        if watermark is None:
            return
        day += _ONE_DAY


def is_open_slot(
    *,
    windows: Sequence[Window],
    timezone: str,
    duration_minutes: int,
    step_minutes: int,
    buffer_minutes: int,
    busy: Sequence[tuple[datetime, datetime]],
    time_off: Sequence[tuple[datetime, datetime]],
    now: datetime,
    minimum_notice_hours: int,
    booking_horizon_days: int,
    starts_at: datetime,
) -> OpenSlot | None:
    """The slot iter_open_slots would yield starting exactly at starts_at, else None."""
    start = _utc(starts_at, "starts_at")
    # Reusing the generator over a one-microsecond range keeps the write path's
    # answer identical to the read path's by construction; it walks ~3 dates.
    slots = iter_open_slots(
        windows=windows,
        timezone=timezone,
        duration_minutes=duration_minutes,
        step_minutes=step_minutes,
        buffer_minutes=buffer_minutes,
        busy=busy,
        time_off=time_off,
        now=now,
        minimum_notice_hours=minimum_notice_hours,
        booking_horizon_days=booking_horizon_days,
        range_start=start,
        range_end=start + timedelta.resolution,
    )
    slot = next(slots, None)
    return slot if slot is not None and slot.starts_at == start else None


def colliding_starts(
    spans: Sequence[tuple[datetime, datetime]],
    busy: Sequence[tuple[datetime, datetime]],
    buffer_minutes: int,
) -> list[datetime]:
    """Starts of `spans` that collide with `busy`, by the rule open times use."""
    index = _IntervalIndex(busy)
    pad = timedelta(minutes=buffer_minutes)
    return [
        start
        for start, end in spans
        if index.collides(_utc(start, "span start"), _utc(end, "span end"), pad)
    ]
