"""Booking, cancelling and listing appointments, and the rules they keep."""

import logging
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import DoesNotExist, IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

import clock
import models
from resolvers.availability import fresh_calendar, offer_for
from resolvers.visibility import can_see_appointment, provider_user_id
from schema.context import Context
from schema.errors import BadUserInput, Conflict, Forbidden, NotFound, SlotUnavailable
from schema.ids import parse_int_id, require_int_id
from schema.pagination import decode_time_cursor, page_size, time_cursor
from subscriptions.events import announce_appointments

logger = logging.getLogger(__name__)

LATE_CANCELLATION = timedelta(hours=24)
ASK_IN_MESSAGES = (
    "You already have an appointment with this provider: ask them in Messages "
    "to schedule your next session."
)


async def lock_provider(provider_id: int) -> models.Provider:
    """Inside a transaction: serialise every write to one provider's calendar.

    On PostgreSQL this is a row lock that holds across server processes; SQLite
    runs one writer at a time, so the transaction alone serialises there.
    """
    return await models.Provider.select_for_update().get(id=provider_id)


async def book_appointment(
    ctx: Context,
    provider_id: str,
    starts_at: datetime,
    format: models.AppointmentFormat,
    office_label: str | None,
    idempotency_key: str | None,
) -> models.Appointment:
    client = ctx.require_role(models.Role.CLIENT, "book with Book Now")
    key = require_int_id(provider_id, "Provider")
    if idempotency_key is not None:
        idempotency_key = idempotency_key.strip()
        if not 1 <= len(idempotency_key) <= 200:
            raise BadUserInput("expected an idempotencyKey of 1 to 200 characters")
        earlier = await _by_idempotency_key(client.id, idempotency_key)
        if earlier is not None:
            return _replayed(earlier, key, starts_at)

    try:
        async with in_transaction():
            # The provider is read once, locked: every check below sees the
            # profile the booking is made under.
            try:
                provider = await lock_provider(key)
            except DoesNotExist:
                raise NotFound(f"No provider has the id {provider_id!r}.") from None
            # A retry racing its original waits on the lock, then finds it.
            earlier = await _by_idempotency_key(client.id, idempotency_key)
            if earlier is not None:
                return _replayed(earlier, key, starts_at)
            if not provider.accepting_new_clients:
                raise Forbidden("This provider is not taking new clients right now.")
            offer = offer_for(provider, None)
            _check_format(offer.kind, format, provider)
            office = await _office_for(provider, format, office_label)
            if await _has_live_appointment(client.id, provider.id):
                raise Forbidden(ASK_IN_MESSAGES)
            calendar = await fresh_calendar(provider)
            slot = calendar.offered(offer, starts_at)
            if slot is None:
                raise SlotUnavailable(calendar.why_not_offered(offer, starts_at))
            if format.value not in slot.formats:
                offered = " or ".join(slot.formats)
                raise SlotUnavailable(
                    f"That time is offered as {offered}, not {format.value}: "
                    "pick a time from availableSlots that lists it."
                )
            appointment = await models.Appointment.create(
                provider_id=provider.id,
                client_id=client.id,
                kind=offer.kind,
                format=format,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                blocked_until=slot.ends_at + timedelta(minutes=provider.buffer_minutes),
                duration_minutes=offer.duration_minutes,
                idempotency_key=idempotency_key,
                join_info=None,
                **office,
            )
            await ensure_thread(client.id, provider.id)
            await _bump_availability(provider.id)
    except IntegrityError:
        # The same idempotency key raced itself: the other request stored it.
        earlier = await _by_idempotency_key(client.id, idempotency_key)
        if earlier is None:
            raise
        return _replayed(earlier, key, starts_at)

    logger.info(
        "Booked appointment_id=%s provider_id=%s kind=%s",
        appointment.id,
        provider.id,
        offer.kind,
    )
    await announce_appointments(
        "BOOKED", [appointment], provider.user_id, availability_of=provider.id
    )
    return appointment


def _check_format(
    kind: models.AppointmentKind,
    format: models.AppointmentFormat,
    provider: models.Provider,
) -> None:
    if kind == models.AppointmentKind.INTRO_CALL:
        if format != models.AppointmentFormat.PHONE:
            # Booking and scheduling alike: true of every intro call.
            raise BadUserInput("An intro call is a phone call: use format PHONE.")
    elif format.value not in provider.formats:
        offered = ", ".join(provider.formats) or "none"
        raise BadUserInput(
            f"expected one of the provider's formats ({offered}), got {format.value}"
        )


async def _office_for(
    provider: models.Provider,
    format: models.AppointmentFormat,
    label: str | None,
) -> dict[str, Any]:
    if format != models.AppointmentFormat.IN_PERSON:
        return {}
    offices = await models.Office.filter(provider_id=provider.id).order_by(
        "position", "id"
    )
    if label is not None:
        offices = [o for o in offices if o.label.casefold() == label.strip().casefold()]
    if not offices:
        raise BadUserInput(
            "expected officeLabel to name one of the provider's offices"
            if label is not None
            else "This provider has no office for in-person sessions."
        )
    office = offices[0]
    return {
        "office_label": office.label,
        "office_address": office.address,
        "office_state": office.state,
    }


def _replayed(
    earlier: models.Appointment, provider_id: int, starts_at: datetime
) -> models.Appointment:
    """The booking an idempotencyKey stored, if this is a retry of that request.

    A key reused for another provider or time is a client bug; answering
    with the old booking would book a time the person never chose.
    """
    if earlier.provider_id != provider_id or earlier.starts_at != starts_at:
        raise Conflict(
            "That idempotencyKey was used for another booking: send a new key "
            "for a new request."
        )
    return earlier


async def _by_idempotency_key(
    client_id: int, key: str | None
) -> models.Appointment | None:
    if key is None:
        return None
    return await models.Appointment.filter(
        client_id=client_id, idempotency_key=key
    ).first()


async def _has_live_appointment(client_id: int, provider_id: int) -> bool:
    return (
        await models.Appointment.filter(client_id=client_id, provider_id=provider_id)
        .exclude(status=models.AppointmentStatus.CANCELLED)
        .exists()
    )


async def ensure_thread(client_id: int, provider_id: int) -> models.MessageThread:
    """The pair's thread, created with their first appointment."""
    thread = await models.MessageThread.filter(
        client_id=client_id, provider_id=provider_id
    ).first()
    if thread is None:
        thread = await models.MessageThread.create(
            client_id=client_id, provider_id=provider_id, last_activity_at=clock.now()
        )
    return thread


async def _bump_availability(provider_id: int) -> None:
    await models.Provider.filter(id=provider_id).update(
        availability_version=F("availability_version") + 1
    )


async def load_appointment(ctx: Context, appointment_id: str) -> models.Appointment:
    """For mutations: NOT_FOUND if missing, FORBIDDEN if not the viewer's to see."""
    ctx.require_viewer()
    key = require_int_id(appointment_id, "Appointment")
    appointment = await models.Appointment.filter(id=key).first()
    if appointment is None:
        raise NotFound(f"No appointment has the id {appointment_id!r}.")
    if not await can_see_appointment(ctx, appointment):
        raise Forbidden("That appointment is not yours.")
    return appointment


async def find_appointment(
    ctx: Context, appointment_id: str
) -> models.Appointment | None:
    """For queries: null if missing, FORBIDDEN if not the viewer's to see."""
    key = parse_int_id(appointment_id, "Appointment")
    if key is None:
        return None
    appointment = await models.Appointment.filter(id=key).first()
    if appointment is None:
        return None
    if not await can_see_appointment(ctx, appointment):
        raise Forbidden("That appointment is not yours.")
    return appointment


async def cancel_appointment(
    ctx: Context, appointment_id: str, reason: str | None, following: bool
) -> list[models.Appointment]:
    """Cancel one, or this and the later ones of its series. Twice is a no-op."""
    viewer = ctx.require_viewer()
    target = await load_appointment(ctx, appointment_id)
    if reason is not None:
        reason = reason.strip()[:1000] or None

    now = clock.now()
    async with in_transaction():
        provider = await lock_provider(target.provider_id)
        target = await models.Appointment.get(id=target.id)
        if target.status == models.AppointmentStatus.CANCELLED and not following:
            return [target]
        if target.status != models.AppointmentStatus.CANCELLED:
            _check_changeable(target, now, "cancel")

        later: list[models.Appointment] = []
        if following and target.series_id:
            # Only what has not started: an occurrence under way or past (not
            # yet marked complete or no-show) is not the canceller's to undo.
            later = await models.Appointment.filter(
                series_id=target.series_id,
                starts_at__gt=max(target.starts_at, now),
                status=models.AppointmentStatus.BOOKED,
            ).order_by("starts_at")
        chosen = [target, *later]
        changed = [a for a in chosen if a.status == models.AppointmentStatus.BOOKED]
        # Late is the client's late cancellation (what fees follow); a
        # provider or staff cancelling is never the client being late.
        by_client = viewer.id == target.client_id
        for appointment in changed:
            appointment.status = models.AppointmentStatus.CANCELLED
            appointment.cancelled_by_id = viewer.id
            appointment.cancel_reason = reason
            appointment.cancelled_at = now
            appointment.cancelled_late = by_client and (
                appointment.starts_at - now < LATE_CANCELLATION
            )
            appointment.revision += 1
            await appointment.save(
                update_fields=[
                    "status",
                    "cancelled_by_id",
                    "cancel_reason",
                    "cancelled_at",
                    "cancelled_late",
                    "revision",
                ]
            )
        if changed:
            await _bump_availability(provider.id)

    for appointment in changed:
        logger.info(
            "Cancelled appointment_id=%s by_user_id=%s late=%s",
            appointment.id,
            viewer.id,
            appointment.cancelled_late,
        )
    if changed:
        await announce_appointments(
            "CANCELLED", changed, provider.user_id, availability_of=provider.id
        )
    return chosen


_STATUS_WORDS = {
    models.AppointmentStatus.BOOKED: "booked",
    models.AppointmentStatus.CANCELLED: "cancelled",
    models.AppointmentStatus.COMPLETED: "completed",
    models.AppointmentStatus.NO_SHOW: "marked as a no-show",
}


def status_words(status: models.AppointmentStatus) -> str:
    """An appointment's status as the end of "an appointment that is …"."""
    return _STATUS_WORDS[models.AppointmentStatus(status)]


def _check_changeable(
    appointment: models.Appointment, now: datetime, action: str
) -> None:
    if appointment.status != models.AppointmentStatus.BOOKED:
        raise Conflict(
            f"Cannot {action} an appointment that is "
            f"{status_words(appointment.status)}."
        )
    if appointment.starts_at <= now:
        raise Conflict(f"Cannot {action} an appointment that has already started.")


async def list_appointments(
    query: Any, first: int | None, after: str | None
) -> tuple[list[models.Appointment], list[str], bool]:
    """A page of appointments soonest first (start, then id)."""
    limit = page_size(first)
    if after is not None:
        starts, appointment_id = decode_time_cursor(after)
        query = query.filter(
            Q(starts_at__gt=starts) | (Q(starts_at=starts) & Q(id__gt=appointment_id))
        )
    rows = await query.order_by("starts_at", "id").limit(limit + 1)
    page = rows[:limit]
    cursors = [time_cursor(a.starts_at, a.id) for a in page]
    return page, cursors, len(rows) > limit


def appointments_in(
    base: Any,
    starts_from: datetime | None,
    starts_to: datetime | None,
    status: models.AppointmentStatus | None,
) -> Any:
    if starts_from is not None and starts_to is not None and starts_to <= starts_from:
        raise BadUserInput("expected `to` after `from`")
    if starts_from is not None:
        base = base.filter(starts_at__gte=starts_from)
    if starts_to is not None:
        base = base.filter(starts_at__lt=starts_to)
    if status is not None:
        base = base.filter(status=status)
    return base


async def viewer_appointments_query(ctx: Context) -> Any:
    viewer = ctx.require_viewer()
    if viewer.role == models.Role.PROVIDER:
        provider = await ctx.loaders.provider_by_user_id.load(viewer.id)
        return models.Appointment.filter(provider_id=provider.id)
    return models.Appointment.filter(client_id=viewer.id)


__all__ = [
    "book_appointment",
    "cancel_appointment",
    "find_appointment",
    "list_appointments",
    "load_appointment",
    "provider_user_id",
]
