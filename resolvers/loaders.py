"""DataLoaders, built per operation so no cache outlives the work it serves."""

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

import orjson
from strawberry.dataloader import DataLoader
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

import clock
import models
from resolvers.availability_engine import MAX_BUFFER

M = TypeVar("M", bound=Model)


def _by_key(rows: Iterable[M], keys: Sequence[int]) -> list[M | None]:
    found = {row.pk: row for row in rows}
    return [found.get(key) for key in keys]


async def _users(keys: list[int]) -> list[models.User | None]:
    return _by_key(await models.User.filter(id__in=keys), keys)


async def _providers(keys: list[int]) -> list[models.Provider | None]:
    return _by_key(await models.Provider.filter(id__in=keys), keys)


async def _providers_by_user(keys: list[int]) -> list[models.Provider | None]:
    rows = await models.Provider.filter(user_id__in=keys)
    found = {row.user_id: row for row in rows}
    return [found.get(key) for key in keys]


# Rows as the directory reads them. Not frozen: a frozen dataclass costs three
# times as much to build, and a page builds a few hundred.
@dataclass(slots=True)
class PlanRow:
    id: int
    name: str
    payer: str


@dataclass(slots=True)
class OfficeRow:
    label: str
    address: str
    state: str


@dataclass(slots=True)
class WindowRow:
    weekday: int
    start_minute: int
    end_minute: int
    formats: list[str] | None


Span = tuple[datetime, datetime]
CalendarRows = tuple[list[WindowRow], list[Span], list[Span]]

# The directory's loaders run hand-written SQL through Tortoise's connection:
# the ORM's query building and model objects cost more than the queries.
PLANS_SQL = (
    "SELECT pp.providers_id, ip.id, ip.name, ip.payer FROM provider_plans pp"
    " JOIN insurance_plans ip ON ip.id = pp.insuranceplan_id"
    " WHERE pp.providers_id {ids} ORDER BY ip.payer, ip.name, ip.id"
)
OFFICES_SQL = (
    "SELECT provider_id, label, address, state FROM offices"
    " WHERE provider_id {ids} ORDER BY position, id"
)
WINDOWS_SQL = (
    "SELECT provider_id, weekday, start_minute, end_minute, formats"
    " FROM availability_windows WHERE provider_id {ids}"
    " ORDER BY weekday, start_minute, id"
)
# Booked appointments' own spans (the engine adds the provider's buffer)
# that can still block a future slot.
BUSY_SQL = (
    "SELECT provider_id, starts_at, ends_at FROM appointments"
    " WHERE provider_id {ids} AND status = 'BOOKED' AND ends_at > {p1}"
)
TIME_OFF_SQL = (
    "SELECT provider_id, starts_at, ends_at FROM time_off"
    " WHERE provider_id {ids} AND ends_at > {p1}"
)


def is_postgres(client: BaseDBAsyncClient) -> bool:
    return client.capabilities.dialect == "postgres"


@lru_cache(maxsize=256)
def _statement(template: str, postgres: bool, count: int, extra: int) -> str:
    """The template with its id list and parameters in the dialect's placeholders.

    PostgreSQL takes the ids as one array, so the text (and its prepared
    statement) is the same for any page size; SQLite needs one ? per id.
    """
    if postgres:
        ids = "= ANY($1::int[])"
        params = {f"p{i}": f"${i + 1}" for i in range(1, extra + 1)}
    else:
        ids = f"IN ({', '.join('?' * count)})" if count else "IN (NULL)"
        params = {f"p{i}": "?" for i in range(1, extra + 1)}
    return template.format(ids=ids, **params)


class Reader:
    """Runs statements on one pooled connection, held for its block.

    Tortoise takes a pool connection per statement and asyncpg resets each
    one it gets back (a round trip of its own); a directory page reads its
    six statements through one connection instead.
    """

    def __init__(self, raw: Any, postgres: bool) -> None:
        self.raw = raw
        self.postgres = postgres

    async def rows(self, sql: str, values: Sequence[Any]) -> list[Any]:
        if self.postgres:
            return await self.raw.fetch(sql, *values)
        return list(await self.raw.execute_fetchall(sql, values))

    async def for_ids(
        self, template: str, keys: Sequence[int], *params: Any
    ) -> list[Any]:
        """Rows of a {ids} template for these keys; params follow the ids in order."""
        sql = _statement(template, self.postgres, len(keys), len(params))
        values = [list(keys), *params] if self.postgres else [*keys, *params]
        return await self.rows(sql, values)


@asynccontextmanager
async def reader() -> AsyncIterator[Reader]:
    client = connections.get("default")
    async with client.acquire_connection() as raw:
        yield Reader(raw, is_postgres(client))


_DATETIME = models.Appointment._meta.fields_map["starts_at"]


def as_instant(value: Any) -> datetime:
    """A stored time as an aware UTC datetime (SQLite hands back text)."""
    if isinstance(value, datetime):
        return value
    return _DATETIME.to_python_value(value)


def as_json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def _grouped_rows(
    rows: Iterable[Any], keys: Sequence[int], make: Callable[[Any], Any]
) -> list[list[Any]]:
    groups: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        groups[row[0]].append(make(row))
    return [groups.get(key, []) for key in keys]


async def plans_for(read: Reader, keys: Sequence[int]) -> list[list[PlanRow]]:
    rows = await read.for_ids(PLANS_SQL, keys)
    return _grouped_rows(rows, keys, lambda r: PlanRow(r[1], r[2], r[3]))


async def offices_for(read: Reader, keys: Sequence[int]) -> list[list[OfficeRow]]:
    rows = await read.for_ids(OFFICES_SQL, keys)
    return _grouped_rows(rows, keys, lambda r: OfficeRow(r[1], r[2], r[3]))


async def calendars_for(read: Reader, keys: Sequence[int]) -> list[CalendarRows]:
    """Weekly windows, booked spans and time off: what open times are made of."""
    now = clock.now()
    windows = _grouped_rows(
        await read.for_ids(WINDOWS_SQL, keys),
        keys,
        lambda r: WindowRow(r[1], r[2], r[3], as_json(r[4])),
    )
    busy = _grouped_rows(
        await read.for_ids(BUSY_SQL, keys, now - MAX_BUFFER),
        keys,
        lambda r: (as_instant(r[1]), as_instant(r[2])),
    )
    time_off = _grouped_rows(
        await read.for_ids(TIME_OFF_SQL, keys, now),
        keys,
        lambda r: (as_instant(r[1]), as_instant(r[2])),
    )
    return list(zip(windows, busy, time_off, strict=True))


def _batch(load: Any) -> Any:
    """A DataLoader batch function that reads through one connection."""

    async def batch(keys: list[int]) -> list[Any]:
        async with reader() as read:
            return await load(read, keys)

    return batch


async def _threads(keys: list[int]) -> list[models.MessageThread | None]:
    return _by_key(await models.MessageThread.filter(id__in=keys), keys)


async def _threads_by_pair(
    keys: list[tuple[int, int]],
) -> list[models.MessageThread | None]:
    client_ids = {client_id for client_id, _ in keys}
    rows = await models.MessageThread.filter(client_id__in=client_ids)
    found = {(row.client_id, row.provider_id): row for row in rows}
    return [found.get(key) for key in keys]


MISSING = object()


def loaded(loader: DataLoader, key: Any) -> Any:
    """What the loader already holds for key, without waiting; else MISSING."""
    future = loader.cache_map.get(key)
    if future is None or not future.done() or future.cancelled():
        return MISSING
    if future.exception() is not None:
        return MISSING
    return future.result()


class Loaders:
    """<Things>By<Key>Loader instances for one operation."""

    def __init__(self) -> None:
        self.user_by_id = DataLoader(load_fn=_users)
        self.provider_by_id = DataLoader(load_fn=_providers)
        self.provider_by_user_id = DataLoader(load_fn=_providers_by_user)
        self.plans_by_provider_id = DataLoader(load_fn=_batch(plans_for))
        self.offices_by_provider_id = DataLoader(load_fn=_batch(offices_for))
        self.calendar_by_provider_id = DataLoader(load_fn=_batch(calendars_for))
        self.thread_by_id = DataLoader(load_fn=_threads)
        self.thread_by_pair = DataLoader(load_fn=_threads_by_pair)
