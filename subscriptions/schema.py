"""The Subscription root: each checks access on subscribe, then streams."""

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
        async for message in live.message_added(info.context, thread_id, after):
            yield message

    @strawberry.subscription(
        description="A thread of the viewer's changed: a message, or read markers."
    )
    async def inbox_updated(self, info: Info) -> AsyncGenerator[MessageThread, None]:
        async for thread in live.inbox_updated(info.context):
            yield thread

    @strawberry.subscription(
        description="One event per change to an appointment of the viewer's."
    )
    async def schedule_changed(
        self, info: Info
    ) -> AsyncGenerator[AppointmentEvent, None]:
        async for event in live.schedule_changed(info.context):
            yield event

    @strawberry.subscription(
        description="The provider's open times changed. Public; never says who."
    )
    async def availability_changed(
        self, info: Info, provider_id: strawberry.ID
    ) -> AsyncGenerator[Provider, None]:
        async for provider in live.availability_changed(info.context, provider_id):
            yield provider
