"""Open times of a provider: the engine fed from the database."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import clock
import models
from resolvers.availability_engine import (
    OpenSlot,
    Window,
    is_open_slot,
    iter_open_slots,
)
from resolvers.loaders import WindowRow, calendars_for, reader
from schema.context import Context

INTRO_FORMATS = (models.AppointmentFormat.PHONE.value,)
# How far past the horizon changes_at looks for the next slot to come in.
HORIZON_LOOKAHEAD = timedelta(days=7)
_FOREVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Offer:
    """What a provider offers for one kind of appointment: length and formats."""

    kind: models.AppointmentKind
    duration_minutes: int
    formats: tuple[str, ...]


def first_appointment_kind(provider: models.Provider) -> models.AppointmentKind:
    if provider.first_appointment == models.FirstAppointment.INTRO_CALL:
        return models.AppointmentKind.INTRO_CALL
    return models.AppointmentKind.INTAKE_SESSION


def offer_for(provider: models.Provider, kind: models.AppointmentKind | None) -> Offer:
    kind = kind or first_appointment_kind(provider)
    if kind == models.AppointmentKind.INTRO_CALL:
        return Offer(kind, provider.intro_call_minutes, INTRO_FORMATS)
    return Offer(kind, provider.session_minutes, tuple(provider.formats))


def to_windows(rows: Sequence[WindowRow], offer: Offer) -> list[Window]:
    windows = []
    for row in rows:
        if offer.kind == models.AppointmentKind.INTRO_CALL:
            formats = INTRO_FORMATS
        elif row.formats:
            # A window's own formats narrow the provider's, never widen them.
            formats = tuple(f for f in offer.formats if f in row.formats)
        else:
            formats = offer.formats
        if formats:
            windows.append(
                Window(row.weekday, row.start_minute, row.end_minute, formats)
            )
    return windows


@dataclass(slots=True)
class Calendar:
    """Everything the engine needs about one provider, loaded once."""

    provider: models.Provider
    windows: Sequence[WindowRow]
    busy: list[tuple[datetime, datetime]]
    time_off: list[tuple[datetime, datetime]]

    def _rules(self, offer: Offer, now: datetime) -> dict:
        provider = self.provider
        return {
            "windows": to_windows(self.windows, offer),
            "timezone": provider.timezone,
            "duration_minutes": offer.duration_minutes,
            "step_minutes": provider.slot_step_minutes,
            "buffer_minutes": provider.buffer_minutes,
            "busy": self.busy,
            "time_off": self.time_off,
            "now": now,
            "minimum_notice_hours": provider.minimum_notice_hours,
            "booking_horizon_days": provider.booking_horizon_days,
        }

    def slots(
        self, offer: Offer, range_start: datetime, range_end: datetime
    ) -> Iterator[OpenSlot]:
        if not self.provider.accepting_new_clients:
            # Nothing is bookable (booking says FORBIDDEN), so nothing is open.
            return iter(())
        return iter_open_slots(
            **self._rules(offer, clock.now()),
            range_start=range_start,
            range_end=range_end,
        )

    def next_slot(self, offer: Offer) -> OpenSlot | None:
        now = clock.now()
        horizon_end = datetime.max.replace(tzinfo=now.tzinfo)
        return next(self.slots(offer, now, horizon_end), None)

    def changes_at(
        self, offer: Offer, first: OpenSlot | None, range_end: datetime | None
    ) -> datetime:
        """When this answer could first differ with no data changed.

        Either the first slot shown slips inside the minimum notice, or the
        booking horizon moves far enough to take in a slot not shown yet.
        range_end is None for nextAvailableSlot, which shows only the first.
        """
        now = clock.now()
        provider = self.provider
        times = [now + HORIZON_LOOKAHEAD]
        if first is not None:
            notice = timedelta(hours=provider.minimum_notice_hours)
            times.append(first.starts_at - notice)
        horizon = timedelta(days=provider.booking_horizon_days)
        horizon_end = now + horizon
        if (first is None and range_end is None) or (
            range_end is not None and range_end > horizon_end
        ):
            rules = self._rules(offer, now)
            rules["booking_horizon_days"] += HORIZON_LOOKAHEAD.days
            beyond = iter_open_slots(
                **rules,
                range_start=horizon_end + timedelta.resolution,
                range_end=min(range_end or _FOREVER, horizon_end + HORIZON_LOOKAHEAD),
            )
            unseen = next(beyond, None)
            if unseen is not None:
                times.append(unseen.starts_at - horizon)
        return min(times)

    def offered(self, offer: Offer, starts_at: datetime) -> OpenSlot | None:
        return is_open_slot(**self._rules(offer, clock.now()), starts_at=starts_at)

    def why_not_offered(self, offer: Offer, starts_at: datetime) -> str:
        """Why starts_at is no open time, in words a person can act on."""
        now = clock.now()
        provider = self.provider
        pick = "pick one from availableSlots."
        if starts_at <= now:
            return f"That time has passed: {pick}"
        notice = provider.minimum_notice_hours
        if starts_at < now + timedelta(hours=notice):
            return f"This provider needs {notice} hours' notice: {pick}"
        horizon = provider.booking_horizon_days
        if starts_at > now + timedelta(days=horizon):
            return f"This provider books at most {horizon} days ahead: {pick}"
        unbooked = {**self._rules(offer, now), "busy": [], "time_off": []}
        if is_open_slot(**unbooked, starts_at=starts_at) is None:
            return f"That is not one of this provider's open times: {pick}"
        return "That time is no longer free: pick another from availableSlots."


async def load_calendar(ctx: Context, provider: models.Provider) -> Calendar:
    """Batched through the operation's loaders, so a directory page costs 3 queries."""
    windows, busy, time_off = await ctx.loaders.calendar_by_provider_id.load(
        provider.id
    )
    return Calendar(provider, windows, busy, time_off)


async def fresh_calendar(provider: models.Provider) -> Calendar:
    """Read straight from the database, for the write paths.

    Inside their transaction, the reader runs on its connection: what the
    lock on the provider protects is what is read.
    """
    async with reader() as read:
        [(windows, busy, time_off)] = await calendars_for(read, [provider.id])
    return Calendar(provider, windows, busy, time_off)
