"""The private iCalendar feed (RFC 5545) of a user's appointments, and its URL."""

import logging
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

import clock
import models
from models.users import new_calendar_secret
from schema.context import Context
from settings import get_settings

logger = logging.getLogger(__name__)

# new_calendar_secret() makes 32 URL-safe characters; anything else is not one.
SECRET = re.compile(r"[A-Za-z0-9_-]{16,64}")
# Past appointments stay in the feed for a year; calendar apps keep history.
FEED_HISTORY = timedelta(days=365)
REFRESH = timedelta(hours=1)

_STATUS = {
    models.AppointmentStatus.BOOKED: "CONFIRMED",
    models.AppointmentStatus.COMPLETED: "CONFIRMED",
    models.AppointmentStatus.NO_SHOW: "CONFIRMED",
    models.AppointmentStatus.CANCELLED: "CANCELLED",
}
_WHERE = {
    models.AppointmentFormat.VIDEO: "Video session — join details in Rapport",
    models.AppointmentFormat.PHONE: "Phone call — details in Rapport",
}


def calendar_url(secret: str) -> str:
    """The absolute feed URL; the secret in it is the only credential."""
    base = get_settings().base_url
    return f"{base}/calendar/{secret}.ics"


async def reset_calendar_url(ctx: Context) -> str:
    """A new secret: the old URL stops working at once."""
    viewer = ctx.require_viewer()
    secret = new_calendar_secret()
    await models.User.filter(id=viewer.id).update(calendar_secret=secret)
    viewer.calendar_secret = secret
    logger.info("Calendar feed reset user_id=%s", viewer.id)
    return calendar_url(secret)


async def calendar_feed(request: Request) -> Response:
    """GET /calendar/<secret>.ics: no token needed, so no cookie or header either."""
    body = await feed_for_secret(request.path_params.get("secret", ""))
    if body is None:
        return PlainTextResponse("No calendar lives at this address.", 404)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": 'inline; filename="rapport.ics"',
            # Health-adjacent data behind a bearer URL: no shared caches, no
            # search engines, no Referer carrying the URL elsewhere.
            "Cache-Control": "private, no-store",
            "X-Robots-Tag": "noindex, nofollow",
            "Referrer-Policy": "no-referrer",
        },
    )


async def feed_for_secret(secret: str) -> bytes | None:
    """The feed of the user whose secret this is, or None for no such user."""
    if not SECRET.fullmatch(secret):
        return None
    user = await models.User.filter(calendar_secret=secret).first()
    if user is None:
        return None
    now = clock.now()
    rows, names = await _appointments_of(user, now - FEED_HISTORY)
    logger.info("Calendar feed served user_id=%s events=%s", user.id, len(rows))
    return build_calendar(user, rows, names, now).to_ical()


async def _appointments_of(
    user: models.User, since: datetime
) -> tuple[list[models.Appointment], dict[int, str]]:
    """The user's appointments and, by appointment id, the other party's name."""
    if user.role == models.Role.PROVIDER:
        provider = await models.Provider.filter(user_id=user.id).first()
        if provider is None:
            return [], {}
        rows = await models.Appointment.filter(
            provider_id=provider.id, starts_at__gte=since
        ).order_by("starts_at", "id")
        clients = await models.User.filter(
            id__in={row.client_id for row in rows}
        ).values_list("id", "name")
        short = {key: short_name(name) for key, name in clients}
        return rows, {row.id: short.get(row.client_id, "a client") for row in rows}
    if user.role == models.Role.CLIENT:
        rows = await models.Appointment.filter(
            client_id=user.id, starts_at__gte=since
        ).order_by("starts_at", "id")
        providers = await models.Provider.filter(
            id__in={row.provider_id for row in rows}
        ).values_list("id", "name")
        full = dict(providers)
        return rows, {
            row.id: full.get(row.provider_id, "your provider") for row in rows
        }
    return [], {}


def short_name(name: str) -> str:
    """'Avery Client' → 'Avery C.': enough for the provider, less on a lock screen."""
    parts = name.split()
    if not parts:
        return "a client"
    if len(parts) == 1:
        return parts[0]
    return f"{parts[0]} {parts[-1][0]}."


def build_calendar(
    user: models.User,
    appointments: list[models.Appointment],
    other_party: dict[int, str],
    now: datetime,
) -> Calendar:
    """One VEVENT per appointment, in UTC, with nothing clinical in it."""
    calendar = Calendar()
    calendar.add("prodid", "-//Rapport//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", "Rapport")
    calendar.add("x-wr-calname", "Rapport")
    calendar.add("x-wr-timezone", user.timezone)
    # How often subscribers should poll: RFC 7986, and what Outlook reads.
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    stamp = now.astimezone(UTC).replace(microsecond=0)
    domain = urlsplit(get_settings().base_url).hostname or "rapport"
    for appointment in appointments:
        calendar.add_component(
            _event(appointment, other_party.get(appointment.id, ""), stamp, domain)
        )
    return calendar


def _event(
    appointment: models.Appointment, other: str, stamp: datetime, domain: str
) -> Event:
    cancelled = appointment.status == models.AppointmentStatus.CANCELLED
    what = (
        "Intro call"
        if appointment.kind == models.AppointmentKind.INTRO_CALL
        else "Appointment"
    )
    # Shown on lock screens and in shared free/busy views: who and when only.
    # "Cancelled:" too, because some apps ignore STATUS in subscribed feeds.
    summary = f"{'Cancelled: ' if cancelled else ''}{what} with {other}"
    event = Event()
    event.add("uid", f"appointment-{appointment.id}@{domain}")
    event.add("dtstamp", stamp)
    event.add("dtstart", _utc(appointment.starts_at))
    event.add("dtend", _utc(appointment.ends_at))
    event.add("summary", summary)
    event.add("description", "Details are in Rapport.")
    event.add("location", _location(appointment))
    event.add("status", _STATUS[appointment.status])
    event.add("class", "PRIVATE")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    # Calendar apps keep the copy with the higher SEQUENCE: each move or
    # cancellation raises it, so a subscribed calendar takes the change.
    event.add("sequence", appointment.revision)
    if appointment.created_at is not None:
        event.add("created", _utc(appointment.created_at))
    return event


def _location(appointment: models.Appointment) -> str:
    if appointment.format == models.AppointmentFormat.IN_PERSON:
        return appointment.office_address or appointment.office_label or "In person"
    return _WHERE[appointment.format]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)
