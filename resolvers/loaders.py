"""DataLoaders, built per operation so no cache outlives the work it serves."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.models import Model

import clock
import models
from resolvers.availability_engine import MAX_BUFFER

M = TypeVar("M", bound=Model)


def _by_key(rows: Iterable[M], keys: Sequence[int]) -> list[M | None]:
    found = {row.pk: row for row in rows}
    return [found.get(key) for key in keys]


def _grouped(rows: Iterable[Any], attr: str, keys: Sequence[int]) -> list[list[Any]]:
    groups: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, attr)].append(row)
    return [groups.get(key, []) for key in keys]


async def _users(keys: list[int]) -> list[models.User | None]:
    return _by_key(await models.User.filter(id__in=keys), keys)


async def _providers(keys: list[int]) -> list[models.Provider | None]:
    return _by_key(await models.Provider.filter(id__in=keys), keys)


async def _providers_by_user(keys: list[int]) -> list[models.Provider | None]:
    rows = await models.Provider.filter(user_id__in=keys)
    found = {row.user_id: row for row in rows}
    return [found.get(key) for key in keys]


async def _plans_by_provider(keys: list[int]) -> list[list[models.InsurancePlan]]:
    links = await models.InsurancePlan.filter(providers__id__in=keys).values(
        "id", "name", "payer", "providers__id"
    )
    plans: dict[int, list[models.InsurancePlan]] = defaultdict(list)
    for link in links:
        plan = models.InsurancePlan(
            id=link["id"], name=link["name"], payer=link["payer"]
        )
        plans[link["providers__id"]].append(plan)
    for group in plans.values():
        group.sort(key=lambda plan: (plan.payer, plan.name))
    return [plans.get(key, []) for key in keys]


async def _offices_by_provider(keys: list[int]) -> list[list[models.Office]]:
    rows = await models.Office.filter(provider_id__in=keys).order_by("position", "id")
    return _grouped(rows, "provider_id", keys)


async def _windows_by_provider(
    keys: list[int],
) -> list[list[models.AvailabilityWindow]]:
    rows = await models.AvailabilityWindow.filter(provider_id__in=keys).order_by(
        "weekday", "start_minute"
    )
    return _grouped(rows, "provider_id", keys)


async def _upcoming_busy(keys: list[int]) -> list[list[tuple[datetime, datetime]]]:
    """Booked spans that, with the buffer, can still block a future slot."""
    rows = await models.Appointment.filter(
        provider_id__in=keys,
        status=models.AppointmentStatus.BOOKED,
        ends_at__gt=clock.now() - MAX_BUFFER,
    ).values_list("provider_id", "starts_at", "ends_at")
    groups: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for provider_id, starts_at, ends_at in rows:
        groups[provider_id].append((starts_at, ends_at))
    return [groups.get(key, []) for key in keys]


async def _upcoming_time_off(keys: list[int]) -> list[list[tuple[datetime, datetime]]]:
    rows = await models.TimeOff.filter(
        provider_id__in=keys, ends_at__gt=clock.now()
    ).values_list("provider_id", "starts_at", "ends_at")
    groups: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for provider_id, starts_at, ends_at in rows:
        groups[provider_id].append((starts_at, ends_at))
    return [groups.get(key, []) for key in keys]


async def _threads(keys: list[int]) -> list[models.MessageThread | None]:
    return _by_key(await models.MessageThread.filter(id__in=keys), keys)


async def _threads_by_pair(
    keys: list[tuple[int, int]],
) -> list[models.MessageThread | None]:
    client_ids = {client_id for client_id, _ in keys}
    rows = await models.MessageThread.filter(client_id__in=client_ids)
    found = {(row.client_id, row.provider_id): row for row in rows}
    return [found.get(key) for key in keys]


class Loaders:
    """<Things>By<Key>Loader instances for one operation."""

    def __init__(self) -> None:
        self.user_by_id = DataLoader(load_fn=_users)
        self.provider_by_id = DataLoader(load_fn=_providers)
        self.provider_by_user_id = DataLoader(load_fn=_providers_by_user)
        self.plans_by_provider_id = DataLoader(load_fn=_plans_by_provider)
        self.offices_by_provider_id = DataLoader(load_fn=_offices_by_provider)
        self.windows_by_provider_id = DataLoader(load_fn=_windows_by_provider)
        self.busy_by_provider_id = DataLoader(load_fn=_upcoming_busy)
        self.time_off_by_provider_id = DataLoader(load_fn=_upcoming_time_off)
        self.thread_by_id = DataLoader(load_fn=_threads)
        self.thread_by_pair = DataLoader(load_fn=_threads_by_pair)
