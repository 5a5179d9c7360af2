"""The directory and a provider's own profile, weekly hours and time off."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F, Q, Subquery
from tortoise.transactions import in_transaction

import clock
import models
from resolvers.auth import check_timezone
from resolvers.availability import load_calendar, offer_for
from resolvers.availability_engine import MAX_BUFFER_MINUTES, parse_wall_time
from schema.context import Context
from schema.errors import BadUserInput, NotFound
from schema.ids import parse_int_id, require_int_id
from schema.pagination import decode_cursor, encode_cursor, page_size

logger = logging.getLogger(__name__)

US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS "
    "MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI "
    "WY PR GU VI AS MP".split()
)
MAX_HORIZON_DAYS = 365
LIST_FIELDS = {
    "specialties": models.TagKind.SPECIALTY,
    "modalities": models.TagKind.MODALITY,
    "languages": models.TagKind.LANGUAGE,
    "licensed_states": models.TagKind.STATE,
    "formats": models.TagKind.FORMAT,
}


@dataclass
class DirectoryFilter:
    state: str | None = None
    insurance_plan_id: str | None = None
    specialty: str | None = None
    modality: str | None = None
    language: str | None = None
    format: str | None = None
    accepting_new_clients: bool | None = None
    available_from: datetime | None = None
    available_to: datetime | None = None
    search: str | None = None


async def sync_tags(provider: models.Provider) -> None:
    """Rewrite the searchable rows from the provider's lists."""
    await models.ProviderTag.filter(provider_id=provider.id).delete()
    tags = []
    for attr, kind in LIST_FIELDS.items():
        seen: set[str] = set()
        for value in getattr(provider, attr):
            folded = value.casefold()
            if folded not in seen:
                seen.add(folded)
                tags.append(
                    models.ProviderTag(
                        provider_id=provider.id, kind=kind, value=value, folded=folded
                    )
                )
    if tags:
        await models.ProviderTag.bulk_create(tags)


def _tagged(kind: models.TagKind, value: str) -> Q:
    ids = models.ProviderTag.filter(kind=kind, folded=value.strip().casefold())
    return Q(id__in=Subquery(ids.values("provider_id")))


def directory_query(f: DirectoryFilter) -> Any:
    query = models.Provider.all()
    if f.state:
        query = query.filter(_tagged(models.TagKind.STATE, f.state))
    if f.specialty:
        query = query.filter(_tagged(models.TagKind.SPECIALTY, f.specialty))
    if f.modality:
        query = query.filter(_tagged(models.TagKind.MODALITY, f.modality))
    if f.language:
        query = query.filter(_tagged(models.TagKind.LANGUAGE, f.language))
    if f.format:
        query = query.filter(_tagged(models.TagKind.FORMAT, f.format))
    if f.insurance_plan_id:
        plan_id = parse_int_id(f.insurance_plan_id, "InsurancePlan")
        query = query.filter(plans__id=plan_id if plan_id is not None else -1)
    if f.accepting_new_clients is not None:
        query = query.filter(accepting_new_clients=f.accepting_new_clients)
    if f.search:
        for word in f.search.split()[:8]:
            tag_ids = models.ProviderTag.filter(
                kind__in=[models.TagKind.SPECIALTY, models.TagKind.MODALITY],
                folded__contains=word.casefold(),
            ).values("provider_id")
            query = query.filter(Q(name__icontains=word) | Q(id__in=Subquery(tag_ids)))
    return query


async def list_providers(
    ctx: Context, f: DirectoryFilter | None, first: int | None, after: str | None
) -> tuple[list[models.Provider], list[str], bool]:
    """One page by name then id, plus whether more follow."""
    f = f or DirectoryFilter()
    limit = page_size(first)
    needs_slots = f.available_from is not None or f.available_to is not None
    if needs_slots:
        _check_range(f)
    query = directory_query(f).order_by("name", "id")
    if after:
        name, provider_id = decode_cursor(after, 2)
        query = query.filter(Q(name__gt=name) | (Q(name=name) & Q(id__gt=provider_id)))

    if not needs_slots:
        rows = await query.limit(limit + 1)
        page = rows[:limit]
        return page, [_cursor(p) for p in page], len(rows) > limit

    # Open times are computed, not stored: scan candidates in order until the
    # page is full, a batch at a time so each batch costs three queries.
    page = []
    offset = 0
    batch = max(limit * 2, 20)
    while len(page) <= limit:
        candidates = await query.offset(offset).limit(batch)
        if not candidates:
            break
        offset += len(candidates)
        for provider in candidates:
            if await _has_slot_in(ctx, provider, f):
                page.append(provider)
                if len(page) > limit:
                    break
    rows = page[:limit]
    return rows, [_cursor(p) for p in rows], len(page) > limit


def _check_range(f: DirectoryFilter) -> None:
    if f.available_from is None or f.available_to is None:
        raise BadUserInput("expected both availableFrom and availableTo")
    if f.available_to <= f.available_from:
        raise BadUserInput("expected availableTo after availableFrom")
    if f.available_to - f.available_from > timedelta(days=366):
        raise BadUserInput(
            "expected availableFrom and availableTo at most 366 days apart"
        )


async def _has_slot_in(
    ctx: Context, provider: models.Provider, f: DirectoryFilter
) -> bool:
    calendar = await load_calendar(ctx, provider)
    offer = offer_for(provider, None)
    slots = calendar.slots(offer, f.available_from, f.available_to)
    return next(slots, None) is not None


def _cursor(provider: models.Provider) -> str:
    return encode_cursor(provider.name, provider.id)


async def get_provider(provider_id: str) -> models.Provider | None:
    key = parse_int_id(provider_id, "Provider")
    return await models.Provider.filter(id=key).first() if key is not None else None


async def require_provider(provider_id: str) -> models.Provider:
    key = require_int_id(provider_id, "Provider")
    provider = await models.Provider.filter(id=key).first()
    if provider is None:
        raise NotFound(f"No provider has the id {provider_id!r}.")
    return provider


async def own_provider(ctx: Context) -> models.Provider:
    viewer = ctx.require_role(models.Role.PROVIDER, "change a provider profile")
    return await models.Provider.get(user_id=viewer.id)


def _clean_list(name: str, values: Sequence[str], limit: int = 30) -> list[str]:
    cleaned: list[str] = []
    for value in values:
        value = value.strip()
        if not value or len(value) > 100:
            raise BadUserInput(f"expected each of {name} to be 1 to 100 characters")
        if value.casefold() not in {v.casefold() for v in cleaned}:
            cleaned.append(value)
    if len(cleaned) > limit:
        raise BadUserInput(f"expected at most {limit} {name}, got {len(cleaned)}")
    return cleaned


def _state(code: str) -> str:
    state = code.strip().upper()
    if state not in US_STATES:
        raise BadUserInput(f"expected a two-letter US state like NY, got {code!r}")
    return state


def _bounded(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise BadUserInput(f"expected {name} from {low} to {high}, got {value}")
    return value


def _text(name: str, value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise BadUserInput(f"expected {name} of at most {limit} characters")
    return value or None


async def update_profile(ctx: Context, changes: dict[str, Any]) -> models.Provider:
    """Apply what is given; leave out what is not. All checked before any write."""
    provider = await own_provider(ctx)
    updates: dict[str, Any] = {}
    offices = None
    plan_ids = None

    for key, value in changes.items():
        if value is None and key not in ("credentials", "bio", "video_platform"):
            continue
        match key:
            case "name":
                name = (value or "").strip()
                if not name or len(name) > 200:
                    raise BadUserInput("expected a name of 1 to 200 characters")
                updates["name"] = name
            case "credentials":
                updates["credentials"] = _text("credentials", value, 100)
            case "bio":
                updates["bio"] = _text("bio", value, 5000)
            case "video_platform":
                updates["video_platform"] = _text("videoPlatform", value, 100)
            case "specialties" | "modalities" | "languages":
                updates[key] = _clean_list(key, value)
            case "licensed_states":
                updates[key] = _clean_list(key, [_state(s) for s in value], 60)
            case "formats":
                formats = [models.AppointmentFormat(f).value for f in value]
                if not formats or "PHONE" in formats:
                    raise BadUserInput("expected formats from VIDEO and IN_PERSON")
                updates[key] = list(dict.fromkeys(formats))
            case "accepting_new_clients":
                updates[key] = bool(value)
            case "first_appointment":
                updates[key] = models.FirstAppointment(value)
            case "intro_call_minutes":
                updates[key] = _bounded("introCallMinutes", value, 5, 60)
            case "session_minutes":
                updates[key] = _bounded("sessionMinutes", value, 15, 240)
            case "timezone":
                updates[key] = check_timezone(value)
            case "buffer_minutes":
                updates[key] = _bounded(
                    "bufferMinutes", value, 0, MAX_BUFFER_MINUTES
                )
            case "minimum_notice_hours":
                updates[key] = _bounded("minimumNoticeHours", value, 0, 24 * 30)
            case "booking_horizon_days":
                updates[key] = _bounded(
                    "bookingHorizonDays", value, 1, MAX_HORIZON_DAYS
                )
            case "slot_step_minutes":
                updates[key] = _bounded("slotStepMinutes", value, 5, 240)
            case "offices":
                offices = _offices(value)
            case "insurance_plan_ids":
                plan_ids = [require_int_id(i, "InsurancePlan") for i in value]

    if plan_ids is not None:
        found = await models.InsurancePlan.filter(id__in=plan_ids).count()
        if found != len(set(plan_ids)):
            raise NotFound("One of insurancePlanIds is not a known plan.")

    async with in_transaction():
        locked = await models.Provider.select_for_update().get(id=provider.id)
        for key, value in updates.items():
            setattr(locked, key, value)
        locked.availability_version += 1
        await locked.save()
        if any(key in LIST_FIELDS for key in updates):
            await sync_tags(locked)
        if offices is not None:
            await models.Office.filter(provider_id=locked.id).delete()
            await models.Office.bulk_create(
                [models.Office(provider_id=locked.id, **o) for o in offices]
            )
        if plan_ids is not None:
            await locked.plans.clear()
            plans = await models.InsurancePlan.filter(id__in=plan_ids)
            if plans:
                await locked.plans.add(*plans)

    logger.info("Updated provider profile provider_id=%s", locked.id)
    return locked


def _offices(values: Sequence[Any]) -> list[dict[str, Any]]:
    offices = []
    for position, office in enumerate(values):
        label = (office.label or "").strip()
        address = (office.address or "").strip()
        if not label or len(label) > 100 or not address or len(address) > 300:
            raise BadUserInput("expected each office to have a label and an address")
        offices.append(
            {
                "position": position,
                "label": label,
                "address": address,
                "state": _state(office.state),
            }
        )
    labels = [o["label"].casefold() for o in offices]
    if len(labels) != len(set(labels)):
        raise BadUserInput("expected office labels to be different")
    return offices


@dataclass
class WindowInput:
    weekday: int
    start: str
    end: str
    formats: list[str] | None


def parse_windows(windows: Sequence[WindowInput]) -> list[dict[str, Any]]:
    """Validated window rows; a window that ends before it starts is refused."""
    if len(windows) > 100:
        raise BadUserInput("expected at most 100 weekly windows")
    rows = []
    for window in windows:
        if not 1 <= window.weekday <= 7:
            raise BadUserInput(
                f"expected weekday 1 (Monday) to 7 (Sunday), got {window.weekday}"
            )
        try:
            start = parse_wall_time(window.start, allow_24=False)
            end = parse_wall_time(window.end, allow_24=True)
        except ValueError as error:
            raise BadUserInput(str(error)) from None
        if end <= start:
            raise BadUserInput(
                f"expected the window to end after it starts, got "
                f"{window.start}–{window.end}"
            )
        formats = None
        if window.formats:
            formats = list(dict.fromkeys(str(f) for f in window.formats))
        rows.append(
            {
                "weekday": window.weekday,
                "start_minute": start,
                "end_minute": end,
                "formats": formats,
            }
        )
    return rows


async def set_weekly_availability(
    ctx: Context, windows: Sequence[WindowInput]
) -> models.Provider:
    provider = await own_provider(ctx)
    rows = parse_windows(windows)

    async with in_transaction():
        await models.Provider.select_for_update().filter(id=provider.id).first()
        await models.AvailabilityWindow.filter(provider_id=provider.id).delete()
        await models.AvailabilityWindow.bulk_create(
            [models.AvailabilityWindow(provider_id=provider.id, **row) for row in rows]
        )
        await models.Provider.filter(id=provider.id).update(
            availability_version=F("availability_version") + 1
        )

    logger.info(
        "Set weekly availability provider_id=%s windows=%s", provider.id, len(rows)
    )
    return await models.Provider.get(id=provider.id)


async def add_time_off(
    ctx: Context, starts_at: datetime, ends_at: datetime, reason: str | None
) -> models.Provider:
    provider = await own_provider(ctx)
    if ends_at <= starts_at:
        raise BadUserInput("expected time off to end after it starts")
    if ends_at - starts_at > timedelta(days=366):
        raise BadUserInput("expected time off of at most 366 days")
    if ends_at <= clock.now():
        raise BadUserInput("expected time off that ends in the future")

    async with in_transaction():
        await models.TimeOff.create(
            provider_id=provider.id,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=_text("reason", reason, 500),
        )
        await models.Provider.filter(id=provider.id).update(
            availability_version=F("availability_version") + 1
        )

    logger.info("Added time off provider_id=%s", provider.id)
    return await models.Provider.get(id=provider.id)
