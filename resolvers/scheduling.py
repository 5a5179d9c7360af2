"""The provider's calendar: follow-ups, recurring series, moves, outcomes, join info."""

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import MONTHLY, WEEKLY, rrule, weekday
from tortoise.transactions import in_transaction

import clock
import models
from resolvers.appointments import (
    _bump_availability,
    _check_changeable,
    _check_format,
    _office_for,
    ensure_thread,
    load_appointment,
    lock_provider,
    status_words,
)
from resolvers.availability_engine import colliding_starts
from schema.context import Context
from schema.errors import BadUserInput, Conflict, Forbidden, NotFound, format_instant
from schema.ids import require_int_id
from subscriptions.events import announce_appointments

logger = logging.getLogger(__name__)

MAX_OCCURRENCES = 52
MIN_DURATION_MINUTES = 5
MAX_DURATION_MINUTES = 240
# Far enough for a year of weekly sessions planned well ahead; near enough
# that a typo in the year is caught instead of stored.
MAX_LEAD = timedelta(days=731)
MAX_JOIN_INFO = 2000

# (dateutil frequency, interval) for each Frequency of the API.
_RULES = {
    "WEEKLY": (WEEKLY, 1),
    "BIWEEKLY": (WEEKLY, 2),
    "MONTHLY": (MONTHLY, 1),
}
ASK_PROVIDER_TO_SCHEDULE = (
    "Your provider schedules the sessions after your first one: ask them in Messages."
)
ASK_PROVIDER_TO_RESCHEDULE = (
    "Only your provider can move an appointment: ask them in Messages, or "
    "cancel it yourself."
)


@dataclass(frozen=True, slots=True)
class Recurrence:
    frequency: str  # WEEKLY, BIWEEKLY or MONTHLY
    count: int | None
    until: datetime | None


@dataclass(frozen=True, slots=True)
class ScheduleRequest:
    client_id: str
    kind: models.AppointmentKind
    starts_at: datetime
    duration_minutes: int | None
    format: models.AppointmentFormat
    recurrence: Recurrence | None
    office_label: str | None = None


def expand_occurrences(
    starts_at: datetime, timezone: str, recurrence: Recurrence | None
) -> list[datetime]:
    """Every start of a series, in UTC, at the same wall-clock time in `timezone`.

    The rule runs on local wall-clock times and only then becomes instants, so
    10:00 stays 10:00 across daylight-saving changes. A wall time that a change
    skips or repeats resolves as RFC 5545 says: with the offset before it.
    """
    first = starts_at.astimezone(UTC)
    if recurrence is None:
        return [first]
    count, until = recurrence.count, recurrence.until
    if (count is None) == (until is None):
        raise BadUserInput("expected exactly one of recurrence count and until")
    if count is not None and not 1 <= count <= MAX_OCCURRENCES:
        raise BadUserInput(
            f"expected a recurrence count from 1 to {MAX_OCCURRENCES}, got {count}"
        )
    if until is not None and until < first:
        raise BadUserInput("expected recurrence until at or after startsAt")

    zone = ZoneInfo(timezone)
    local = first.astimezone(zone).replace(tzinfo=None, fold=0)
    frequency, interval = _RULES[recurrence.frequency]
    by_weekday = None
    if frequency == MONTHLY:
        # The 2nd Tuesday stays the 2nd Tuesday; a 5th one is missing from
        # most months, so it is refused rather than silently skipped.
        ordinal = (local.day - 1) // 7 + 1
        if ordinal == 5:
            raise BadUserInput(
                "A monthly series cannot start in a month's 5th week: most "
                "months have no 5th weekday of that kind. Pick a date in the "
                "first four weeks."
            )
        by_weekday = weekday(local.weekday(), ordinal)
    rule = rrule(
        frequency,
        dtstart=local,
        interval=interval,
        count=count,
        byweekday=by_weekday,
    )

    starts: list[datetime] = []
    for wall in rule:
        instant = wall.replace(tzinfo=zone).astimezone(UTC)
        if until is not None and instant > until:
            break
        starts.append(instant)
        if len(starts) > MAX_OCCURRENCES:
            raise BadUserInput(
                f"That recurrence makes more than {MAX_OCCURRENCES} appointments: "
                "choose an earlier until or use count."
            )
    # The first is the instant asked for, even when its wall time is ambiguous.
    starts[0] = first
    return starts


async def schedule_appointment(
    ctx: Context, request: ScheduleRequest
) -> list[models.Appointment]:
    """One appointment, or a whole series, with one of the provider's clients."""
    provider = await _require_provider(ctx, ASK_PROVIDER_TO_SCHEDULE)
    client = await _own_client(provider, request.client_id)
    _check_format(request.kind, request.format, provider)
    office = await _office_for(provider, request.format, request.office_label)
    duration = _duration(provider, request.kind, request.duration_minutes)
    now = clock.now()
    _check_start(request.starts_at, now)
    length = timedelta(minutes=duration)
    series_id = str(uuid.uuid4()) if request.recurrence else None

    async with in_transaction():
        provider = await lock_provider(provider.id)
        # Expanded under the lock, in the zone the provider has now.
        starts = expand_occurrences(
            request.starts_at, provider.timezone, request.recurrence
        )
        buffer = timedelta(minutes=provider.buffer_minutes)
        spans = [(start, start + length) for start in starts]
        clashes = await _collisions(provider.id, spans, buffer)
        if clashes:
            raise _conflict(clashes, len(starts))
        rows = []
        for start, end in spans:
            rows.append(
                await models.Appointment.create(
                    provider_id=provider.id,
                    client_id=client.id,
                    kind=request.kind,
                    format=request.format,
                    starts_at=start,
                    ends_at=end,
                    blocked_until=end + buffer,
                    duration_minutes=duration,
                    series_id=series_id,
                    join_info=None,
                    **office,
                )
            )
        await ensure_thread(client.id, provider.id)
        await _bump_availability(provider.id)

    logger.info(
        "Scheduled provider_id=%s client_id=%s count=%s series_id=%s",
        provider.id,
        client.id,
        len(rows),
        series_id,
    )
    await announce_appointments(
        "BOOKED", rows, provider.user_id, availability_of=provider.id
    )
    return rows


async def reschedule_appointment(
    ctx: Context, appointment_id: str, starts_at: datetime
) -> models.Appointment:
    """Move one appointment, keeping its length; the old time is freed."""
    provider = await _require_provider(ctx, ASK_PROVIDER_TO_RESCHEDULE)
    target = await _providers_appointment(ctx, provider, appointment_id)
    now = clock.now()
    new_start = starts_at.astimezone(UTC)

    async with in_transaction():
        provider = await lock_provider(provider.id)
        target = await models.Appointment.get(id=target.id)
        _check_changeable(target, now, "reschedule")
        _check_start(new_start, now)
        if target.starts_at == new_start:
            return target
        new_end = new_start + timedelta(minutes=target.duration_minutes)
        buffer = timedelta(minutes=provider.buffer_minutes)
        # Excluding itself: 11:00–11:50 moved to 11:30 overlaps only its old self.
        clashes = await _collisions(
            provider.id, [(new_start, new_end)], buffer, exclude_id=target.id
        )
        if clashes:
            raise _conflict(clashes, 1)
        target.starts_at = new_start
        target.ends_at = new_end
        target.blocked_until = new_end + buffer
        target.revision += 1
        await target.save(
            update_fields=["starts_at", "ends_at", "blocked_until", "revision"]
        )
        await _bump_availability(provider.id)

    logger.info("Rescheduled appointment_id=%s provider_id=%s", target.id, provider.id)
    await announce_appointments(
        "RESCHEDULED", [target], provider.user_id, availability_of=provider.id
    )
    return target


async def complete_appointment(ctx: Context, appointment_id: str) -> models.Appointment:
    """The session took place: only once it has ended."""
    return await _record_outcome(
        ctx, appointment_id, models.AppointmentStatus.COMPLETED
    )


async def mark_no_show(ctx: Context, appointment_id: str) -> models.Appointment:
    """The client did not come: only once it has started."""
    return await _record_outcome(ctx, appointment_id, models.AppointmentStatus.NO_SHOW)


async def _record_outcome(
    ctx: Context, appointment_id: str, outcome: models.AppointmentStatus
) -> models.Appointment:
    completing = outcome == models.AppointmentStatus.COMPLETED
    action = "mark appointments completed" if completing else "mark no-shows"
    provider = await _require_provider(ctx, f"Only the provider can {action}.")
    target = await _providers_appointment(ctx, provider, appointment_id)
    now = clock.now()

    async with in_transaction():
        provider = await lock_provider(provider.id)
        target = await models.Appointment.get(id=target.id)
        if target.status != models.AppointmentStatus.BOOKED:
            raise Conflict(
                f"Cannot {'complete' if completing else 'mark as a no-show'} an "
                f"appointment that is {status_words(target.status)}."
            )
        if completing and target.ends_at > now:
            raise Conflict(
                "That appointment has not ended yet: complete it after "
                f"{format_instant(target.ends_at)}."
            )
        if not completing and target.starts_at > now:
            raise Conflict(
                "That appointment has not started yet: mark a no-show after "
                f"{format_instant(target.starts_at)}."
            )
        target.status = outcome
        await target.save(update_fields=["status"])
        # Only BOOKED appointments keep others out: what is left of this one
        # (the rest of a no-show, or the buffer) opens up.
        frees_time = target.blocked_until > now
        if frees_time:
            await _bump_availability(provider.id)

    logger.info(
        "Recorded outcome appointment_id=%s status=%s", target.id, outcome.value
    )
    await announce_appointments(
        "UPDATED",
        [target],
        provider.user_id,
        availability_of=provider.id if frees_time else None,
    )
    return target


async def set_join_info(
    ctx: Context, appointment_id: str, join_info: str
) -> models.Appointment:
    """The link or dial-in steps for one appointment; its two participants see it."""
    provider = await _require_provider(
        ctx, "Only the provider can set how to join an appointment."
    )
    text = join_info.strip()
    if not 1 <= len(text) <= MAX_JOIN_INFO:
        raise BadUserInput(
            f"expected joinInfo of 1 to {MAX_JOIN_INFO} characters, got {len(text)}"
        )
    target = await _providers_appointment(ctx, provider, appointment_id)
    if target.format == models.AppointmentFormat.IN_PERSON:
        raise BadUserInput(
            "In-person sessions take place at the office: join details are for "
            "video and phone appointments."
        )

    async with in_transaction():
        await lock_provider(provider.id)
        target = await models.Appointment.get(id=target.id)
        if target.status != models.AppointmentStatus.BOOKED:
            raise Conflict(
                "Cannot set join details on an appointment that is "
                f"{status_words(target.status)}."
            )
        if target.join_info == text:
            return target
        target.join_info = text
        await target.save(update_fields=["join_info"])

    logger.info("Set join info appointment_id=%s", target.id)
    await announce_appointments("UPDATED", [target], provider.user_id)
    return target


async def _require_provider(ctx: Context, refusal: str) -> models.Provider:
    """The viewer's provider profile; clients and staff are refused with `refusal`."""
    viewer = ctx.require_viewer()
    if viewer.role == models.Role.CLIENT:
        raise Forbidden(refusal)
    if viewer.role != models.Role.PROVIDER:
        raise Forbidden("Only a provider manages their calendar.")
    provider = await models.Provider.filter(user_id=viewer.id).first()
    if provider is None:
        raise Forbidden("Set up your provider profile first.")
    return provider


async def _own_client(provider: models.Provider, client_id: str) -> models.User:
    """A client who has had an appointment (of any status) with this provider."""
    key = require_int_id(client_id, "User")
    client = await models.User.filter(id=key).first()
    if client is None:
        raise NotFound(f"No user has the id {client_id!r}.")
    known = await models.Appointment.filter(
        provider_id=provider.id, client_id=client.id
    ).exists()
    if not known:
        raise Forbidden(
            "You can schedule only with your own clients: people who have had "
            "an appointment with you."
        )
    return client


async def _providers_appointment(
    ctx: Context, provider: models.Provider, appointment_id: str
) -> models.Appointment:
    appointment = await load_appointment(ctx, appointment_id)
    if appointment.provider_id != provider.id:
        raise Forbidden("That appointment is not on your calendar.")
    return appointment


def _duration(
    provider: models.Provider, kind: models.AppointmentKind, minutes: int | None
) -> int:
    if minutes is None:
        if kind == models.AppointmentKind.INTRO_CALL:
            return provider.intro_call_minutes
        return provider.session_minutes
    if not MIN_DURATION_MINUTES <= minutes <= MAX_DURATION_MINUTES:
        raise BadUserInput(
            f"expected durationMinutes from {MIN_DURATION_MINUTES} to "
            f"{MAX_DURATION_MINUTES}, got {minutes}"
        )
    return minutes


def _check_start(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise BadUserInput("expected a start in the future: nobody books the past")
    if starts_at - now > MAX_LEAD:
        raise BadUserInput("expected a start within two years from now")
    if starts_at.second or starts_at.microsecond:
        raise BadUserInput("expected a start on a whole minute")


async def _collisions(
    provider_id: int,
    spans: list[tuple[datetime, datetime]],
    buffer: timedelta,
    exclude_id: int | None = None,
) -> list[datetime]:
    """Starts of `spans` that come too close to a booked appointment.

    The same rule as open times (availability_engine): the provider's buffer
    is kept free after every appointment, booked or new.
    """
    earliest = min(start for start, _ in spans)
    latest = max(end for _, end in spans)
    query = models.Appointment.filter(
        provider_id=provider_id,
        status=models.AppointmentStatus.BOOKED,
        starts_at__lt=latest + buffer,
        ends_at__gt=earliest - buffer,
    )
    if exclude_id is not None:
        query = query.exclude(id=exclude_id)
    busy = await query.values_list("starts_at", "ends_at")
    minutes = int(buffer.total_seconds() // 60)
    return colliding_starts(spans, busy, minutes)


def _conflict(clashes: list[datetime], total: int) -> Conflict:
    listed = ", ".join(format_instant(at) for at in clashes)
    if total == 1:
        message = f"That time collides with another appointment: {listed}."
    else:
        message = (
            f"{len(clashes)} of the {total} times "
            f"{'collides' if len(clashes) == 1 else 'collide'} with other appointments "
            f"({listed}); nothing was scheduled."
        )
    return Conflict(message, conflicts=clashes)

