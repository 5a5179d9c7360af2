"""The Subscription root: each checks access on subscribe, then streams.

The resolvers are coroutines that return the stream rather than generators,
so a refusal happens before anything flows: it reaches the client as the
protocol's `error` message (FORBIDDEN, NOT_FOUND, UNAUTHENTICATED), never as
an event.
"""

from collections.abc import AsyncGenerator

import strawberry

from schema.context import Info
from schema.types import AppointmentEvent, Message, MessageThread, Provider
from subscriptions import live


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description=(
            "Every stored message after `after` (a message cursor), in order, then "
            "new ones live, with no gap and no duplicate. Participants only."
        )
    )
    async def message_added(
        self, info: Info, thread_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[Message, None]:
        return await live.message_added(info.context, thread_id, after)

    @strawberry.subscription(
        description="A thread of the viewer's changed: a message, or read markers."
    )
    async def inbox_updated(self, info: Info) -> AsyncGenerator[MessageThread, None]:
        return await live.inbox_updated(info.context)

    @strawberry.subscription(
        description="One event per change to an appointment of the viewer's."
    )
    async def schedule_changed(
        self, info: Info
    ) -> AsyncGenerator[AppointmentEvent, None]:
        return await live.schedule_changed(info.context)

    @strawberry.subscription(
        description="The provider's open times changed. Public; never says who."
    )
    async def availability_changed(
        self, info: Info, provider_id: strawberry.ID
    ) -> AsyncGenerator[Provider, None]:
        return await live.availability_changed(info.context, provider_id)
