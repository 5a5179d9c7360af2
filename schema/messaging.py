"""Thread queries and the messaging mutations."""

import strawberry

from resolvers import threads, throttles
from schema.context import Info
from schema.inputs import SendMessageInput
from resolvers.visibility import provider_user_id
from schema.types import Message, MessageThread
from subscriptions.events import announce_message, announce_thread_read


@strawberry.type
class MessagingQuery:
    @strawberry.field(description="The two participants only.")
    async def thread(self, info: Info, id: strawberry.ID) -> MessageThread | None:
        row = await threads.find_thread(info.context, id)
        return MessageThread.from_row(row) if row else None


@strawberry.type
class MessagingMutation:
    @strawberry.mutation(
        description="1 to 5,000 characters; a repeated clientMessageId stores one."
    )
    async def send_message(self, info: Info, input: SendMessageInput) -> Message:
        await throttles.check_send_message(info.context)
        message, thread, is_new = await threads.send_message(
            info.context,
            input.thread_id,
            input.body,
            input.topic,
            input.client_message_id,
        )
        if is_new:
            provider_user = await provider_user_id(info.context, thread.provider_id)
            await announce_message(message, thread, provider_user)
        return Message.from_row(message)

    @strawberry.mutation
    async def mark_thread_read(
        self, info: Info, thread_id: strawberry.ID
    ) -> MessageThread:
        thread = await threads.mark_thread_read(info.context, thread_id)
        await announce_thread_read(thread, info.context.viewer.id)
        return MessageThread.from_row(thread)
