"""The public directory and a provider's own profile operations."""

from datetime import datetime

import strawberry
from tortoise.expressions import Q

import models
from resolvers import providers
from schema.context import Info
from schema.inputs import AvailabilityWindowInput, ProviderFilter, ProviderProfileInput
from schema.pagination import Connection, connection
from schema.types import InsurancePlan, Provider
from subscriptions.events import announce_availability


@strawberry.type
class DirectoryQuery:
    @strawberry.field(description="Listed by name, then id; at most 100 a page.")
    async def providers(
        self,
        info: Info,
        filter: ProviderFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Provider]:
        criteria = None
        if filter is not None:
            criteria = providers.DirectoryFilter(
                state=filter.state,
                insurance_plan_id=filter.insurance_plan_id,
                specialty=filter.specialty,
                modality=filter.modality,
                language=filter.language,
                format=filter.format.value if filter.format else None,
                accepting_new_clients=filter.accepting_new_clients,
                available_from=filter.available_from,
                available_to=filter.available_to,
                search=filter.search,
            )
        rows, cursors, more = await providers.list_providers(
            info.context, criteria, first, after
        )
        nodes = [Provider.from_row(row) for row in rows]
        return connection(nodes, cursors, has_next=more, has_previous=bool(after))

    @strawberry.field
    async def provider(self, id: strawberry.ID) -> Provider | None:
        row = await providers.get_provider(id)
        return Provider.from_row(row) if row else None

    @strawberry.field(description="Every plan, or those whose name or payer match.")
    async def insurance_plans(self, search: str | None = None) -> list[InsurancePlan]:
        query = models.InsurancePlan.all()
        if search and search.strip():
            words = search.strip()[:100]
            query = query.filter(Q(name__icontains=words) | Q(payer__icontains=words))
        rows = await query.order_by("payer", "name")
        return [InsurancePlan.from_row(row) for row in rows]


@strawberry.type
class DirectoryMutation:
    @strawberry.mutation(description="Providers only; what is left out stays.")
    async def update_provider_profile(
        self, info: Info, input: ProviderProfileInput
    ) -> Provider:
        changes = {
            key: value
            for key, value in vars(input).items()
            if value is not strawberry.UNSET
        }
        row = await providers.update_profile(info.context, changes)
        await announce_availability(row.id)
        return Provider.from_row(row)

    @strawberry.mutation(
        description="Replaces the weekly windows (local wall-clock times)."
    )
    async def set_weekly_availability(
        self, info: Info, windows: list[AvailabilityWindowInput]
    ) -> Provider:
        parsed = [
            providers.WindowInput(
                weekday=w.weekday,
                start=w.start,
                end=w.end,
                formats=[f.value for f in w.formats] if w.formats else None,
            )
            for w in windows
        ]
        row = await providers.set_weekly_availability(info.context, parsed)
        await announce_availability(row.id)
        return Provider.from_row(row)

    @strawberry.mutation
    async def add_time_off(
        self,
        info: Info,
        starts_at: datetime,
        ends_at: datetime,
        reason: str | None = None,
    ) -> Provider:
        row = await providers.add_time_off(info.context, starts_at, ends_at, reason)
        await announce_availability(row.id)
        return Provider.from_row(row)
