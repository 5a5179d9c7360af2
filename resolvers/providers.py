"""The directory and a provider's own profile, weekly hours and time off."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F
from tortoise.filters import escape_like
from tortoise.transactions import in_transaction

import clock
import models
from resolvers.auth import check_timezone
from resolvers.availability import Calendar, offer_for
from resolvers.availability_engine import MAX_BUFFER_MINUTES, parse_wall_time
from resolvers.loaders import (
    Reader,
    as_json,
    calendars_for,
    offices_for,
    plans_for,
    reader,
)
from resolvers.text import single_line
from schema.context import Context
from schema.errors import BadUserInput, NotFound
from schema.ids import parse_int_id, require_int_id
from schema.pagination import decode_cursor, encode_cursor, page_size
from web.directory_cache import recorder

logger = logging.getLogger(__name__)

US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS "
    "MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI "
    "WY PR GU VI AS MP".split()
)
MAX_HORIZON_DAYS = 365
# Every office and plan is read for each directory page the provider is on.
MAX_OFFICES = 20
MAX_PLANS = 200
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


# The columns the Provider type shows, in ProviderRow's order.
PROVIDER_COLUMNS = (
    "id", "user_id", "name", "credentials", "bio", "specialties", "modalities",
    "languages", "licensed_states", "formats", "accepting_new_clients",
    "first_appointment", "intro_call_minutes", "session_minutes", "timezone",
    "video_platform", "buffer_minutes", "minimum_notice_hours",
    "booking_horizon_days", "slot_step_minutes", "availability_version",
)
_SELECT = ", ".join(f"p.{column}" for column in PROVIDER_COLUMNS)
_VERSIONS = "p.id, p.availability_version"
_TAGGED = (
    "p.id IN (SELECT provider_id FROM provider_tags WHERE kind = {} AND folded = {})"
)
_LIKE_ESCAPE = " ESCAPE '\\'"


@dataclass(slots=True)
class ProviderRow:
    """A provider as the directory reads it: the columns, no ORM object."""

    id: int
    user_id: int
    name: str
    credentials: str | None
    bio: str | None
    specialties: list[str]
    modalities: list[str]
    languages: list[str]
    licensed_states: list[str]
    formats: list[str]
    accepting_new_clients: bool
    first_appointment: models.FirstAppointment
    intro_call_minutes: int
    session_minutes: int
    timezone: str
    video_platform: str | None
    buffer_minutes: int
    minimum_notice_hours: int
    booking_horizon_days: int
    slot_step_minutes: int
    availability_version: int

    @classmethod
    def from_record(cls, r: Any) -> "ProviderRow":
        return cls(
            r[0], r[1], r[2], r[3], r[4], as_json(r[5]), as_json(r[6]),
            as_json(r[7]), as_json(r[8]), as_json(r[9]), bool(r[10]),
            models.FirstAppointment(r[11]), r[12], r[13], r[14], r[15], r[16],
            r[17], r[18], r[19], r[20],
        )


class _Params:
    """Placeholders in the dialect's style, numbered as values are added."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}" if self.postgres else "?"


def directory_sql(
    f: DirectoryFilter,
    after: tuple[str, int] | None,
    limit: int,
    offset: int,
    postgres: bool,
    columns: str = _SELECT,
) -> tuple[str, list[Any]]:
    """The directory's page as one statement: filters, then name and id order.

    Each filter is a semi-join on an indexed table, so the statement stays one
    however many filters are given; the same text serves every page size.
    """
    p = _Params(postgres)
    where = []
    for kind, value in (
        (models.TagKind.STATE, f.state),
        (models.TagKind.SPECIALTY, f.specialty),
        (models.TagKind.MODALITY, f.modality),
        (models.TagKind.LANGUAGE, f.language),
        (models.TagKind.FORMAT, f.format),
    ):
        if value:
            where.append(_TAGGED.format(p(kind.value), p(value.strip().casefold())))
    if f.insurance_plan_id:
        plan_id = parse_int_id(f.insurance_plan_id, "InsurancePlan")
        where.append(
            "p.id IN (SELECT providers_id FROM provider_plans WHERE insuranceplan_id = "
            f"{p(plan_id if plan_id is not None else -1)})"
        )
    if f.accepting_new_clients is not None:
        where.append(f"p.accepting_new_clients = {p(f.accepting_new_clients)}")
    if f.search:
        for word in f.search.split()[:8]:
            name = p(f"%{escape_like(word)}%")
            tag = p(f"%{escape_like(word.casefold())}%")
            where.append(
                f"(UPPER(CAST(p.name AS VARCHAR)) LIKE UPPER({name}){_LIKE_ESCAPE}"
                " OR p.id IN (SELECT provider_id FROM provider_tags WHERE kind IN "
                f"('specialty', 'modality') AND CAST(folded AS VARCHAR) LIKE {tag}"
                f"{_LIKE_ESCAPE}))"
            )
    if after is not None:
        name, provider_id = after
        where.append(
            f"(p.name > {p(name)} OR (p.name = {p(name)} AND p.id > {p(provider_id)}))"
        )
    sql = f"SELECT {columns} FROM providers p"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY p.name, p.id LIMIT {p(limit)}"
    if offset:
        sql += f" OFFSET {p(offset)}"
    return sql, p.values


async def list_providers(
    ctx: Context, f: DirectoryFilter | None, first: int | None, after: str | None
) -> tuple[list[ProviderRow], list[str], bool]:
    """One page by name then id, plus whether more follow.

    The page's plans, offices and calendars are read with it, through the same
    connection, and handed to the operation's loaders: a page costs six
    statements whatever its size, and its fields answer without waiting.
    """
    f = f or DirectoryFilter()
    _check_words(f)
    limit = page_size(first)
    needs_slots = f.available_from is not None or f.available_to is not None
    if needs_slots:
        _check_range(f)
    start = _after(after) if after is not None else None
    loaders = ctx.loaders
    cache = recorder(ctx)

    async with reader() as read:
        if not needs_slots:
            sql, values = directory_sql(f, start, limit + 1, 0, read.postgres)
            rows = [ProviderRow.from_record(r) for r in await read.rows(sql, values)]
            page, more = rows[:limit], len(rows) > limit
            if cache is not None:
                # A reuse of this page first checks that the same providers,
                # at the same versions, would be listed again.
                check, check_values = directory_sql(
                    f, start, limit + 1, 0, read.postgres, _VERSIONS
                )
                versions = [(p.id, p.availability_version) for p in rows]
                cache.listed(check, check_values, versions)
            ids = [p.id for p in page]
            if ids:
                loaders.calendar_by_provider_id.prime_many(
                    dict(zip(ids, await calendars_for(read, ids), strict=True))
                )
        else:
            if cache is not None:
                cache.refuse()  # who is listed depends on the clock
            page, more = await _with_open_time(ctx, read, f, start, limit)
            ids = [p.id for p in page]
        if ids:
            loaders.plans_by_provider_id.prime_many(
                dict(zip(ids, await plans_for(read, ids), strict=True))
            )
            loaders.offices_by_provider_id.prime_many(
                dict(zip(ids, await offices_for(read, ids), strict=True))
            )
    return page, [_cursor(p) for p in page], more


async def _with_open_time(
    ctx: Context,
    read: Reader,
    f: DirectoryFilter,
    after: tuple[str, int] | None,
    limit: int,
) -> tuple[list[ProviderRow], bool]:
    """Open times are computed, not stored: scan candidates in order until the
    page is full, a batch at a time, each batch's calendars in one read."""
    page: list[ProviderRow] = []
    offset = 0
    batch = max(limit * 2, 20)
    while len(page) <= limit:
        sql, values = directory_sql(f, after, batch, offset, read.postgres)
        candidates = [ProviderRow.from_record(r) for r in await read.rows(sql, values)]
        if not candidates:
            break
        offset += len(candidates)
        ids = [p.id for p in candidates]
        calendars = dict(zip(ids, await calendars_for(read, ids), strict=True))
        ctx.loaders.calendar_by_provider_id.prime_many(calendars)
        for provider in candidates:
            calendar = Calendar(provider, *calendars[provider.id])
            offer = offer_for(provider, None)
            slots = calendar.slots(offer, f.available_from, f.available_to)
            if next(slots, None) is not None:
                page.append(provider)
                if len(page) > limit:
                    break
    return page[:limit], len(page) > limit


# Names a directory cursor, so another list's cursor of the same shape (an
# instant and an id) is refused rather than read as a name.
_CURSOR_TAG = "p"


def _after(cursor: str) -> tuple[str, int]:
    tag, name, provider_id = decode_cursor(cursor, str, str, int)
    if tag != _CURSOR_TAG:
        raise BadUserInput("expected a cursor from this list of providers")
    return name, provider_id


def _check_words(f: DirectoryFilter) -> None:
    """Filters are short words; a long one would only make the LIKE costly."""
    for name, value, limit in (
        ("search", f.search, 200),
        ("state", f.state, 100),
        ("specialty", f.specialty, 100),
        ("modality", f.modality, 100),
        ("language", f.language, 100),
    ):
        if value is not None and len(value) > limit:
            raise BadUserInput(
                f"expected {name} of at most {limit} characters, got {len(value):,}"
            )
    if f.state:
        _state(f.state)  # "New York" would match nobody: say so


def _check_range(f: DirectoryFilter) -> None:
    if f.available_from is None or f.available_to is None:
        raise BadUserInput("expected both availableFrom and availableTo")
    if f.available_to <= f.available_from:
        raise BadUserInput("expected availableTo after availableFrom")
    if f.available_to - f.available_from > timedelta(days=366):
        raise BadUserInput(
            "expected availableFrom and availableTo at most 366 days apart"
        )


def _cursor(provider: ProviderRow) -> str:
    return encode_cursor(_CURSOR_TAG, provider.name, provider.id)


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
    """Trimmed, without repeats in any letter case; refused at the limit's first
    excess, so a list of a hundred thousand costs no more than one of 31."""
    cleaned: list[str] = []
    seen: set[str] = set()
    for value in values:
        value = single_line(name, value.strip())
        if not value or len(value) > 100:
            raise BadUserInput(f"expected each of {name} to be 1 to 100 characters")
        folded = value.casefold()
        if folded in seen:
            continue
        seen.add(folded)
        cleaned.append(value)
        if len(cleaned) > limit:
            raise BadUserInput(
                f"expected at most {limit} {name}, got {len(values):,} values"
            )
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


def _text(
    name: str, value: str | None, limit: int, *, line: bool = False
) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if line:
        single_line(name, value)
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
                name = single_line("a name", (value or "").strip())
                if not name or len(name) > 200:
                    raise BadUserInput("expected a name of 1 to 200 characters")
                updates["name"] = name
            case "credentials":
                updates["credentials"] = _text("credentials", value, 100, line=True)
            case "bio":
                updates["bio"] = _text("bio", value, 5000)
            case "video_platform":
                updates["video_platform"] = _text(
                    "videoPlatform", value, 100, line=True
                )
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
                if len(value) > MAX_PLANS:
                    raise BadUserInput(
                        f"expected at most {MAX_PLANS} insurancePlanIds, "
                        f"got {len(value):,}"
                    )
                plan_ids = [require_int_id(i, "InsurancePlan") for i in value]

    formats = updates.get("formats", provider.formats)
    if "IN_PERSON" in formats and not (
        offices
        if offices is not None
        else await models.Office.filter(provider_id=provider.id).exists()
    ):
        # Its open times would offer IN_PERSON, and no booking could take it.
        raise BadUserInput(
            "expected an office for IN_PERSON sessions: add offices in the same "
            "update, or offer VIDEO only"
        )

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
    if len(values) > MAX_OFFICES:
        raise BadUserInput(
            f"expected at most {MAX_OFFICES} offices, got {len(values):,}"
        )
    offices = []
    for position, office in enumerate(values):
        label = single_line("office labels", (office.label or "").strip())
        address = single_line("office addresses", (office.address or "").strip())
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
            if "PHONE" in formats:
                raise BadUserInput(
                    "expected window formats from VIDEO and IN_PERSON; intro "
                    "calls are offered in every window"
                )
        row = {
            "weekday": window.weekday,
            "start_minute": start,
            "end_minute": end,
            "formats": formats,
        }
        # A copy of a window offers nothing more, yet costs every listing.
        if row not in rows:
            rows.append(row)
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
