"""Subscription streams: check access first, listen, then replay, then go live.

Each function here checks on subscribe (raising FORBIDDEN, NOT_FOUND or
UNAUTHENTICATED before anything flows) and returns the stream to iterate.
"""

import logging
from collections.abc import AsyncIterator
from datetime import datetime

import models
from resolvers.providers import require_provider
from resolvers.threads import load_thread
from resolvers.visibility import can_see_appointment, is_thread_participant
from schema.context import Context
from schema.errors import BadUserInput
from schema.pagination import decode_cursor
from schema.types import (
    Appointment,
    AppointmentEvent,
    AppointmentEventType,
    Message,
    MessageThread,
    Provider,
)
from subscriptions.broker import listen
from subscriptions.channels import (
    provider_availability_channel,
    thread_channel,
    user_channel,
)
from subscriptions.events import StoredMessage

logger = logging.getLogger(__name__)

REPLAY_BATCH = 200
RESYNC = "resync"


def _after_seq(cursor: str, thread: models.MessageThread) -> int:
    tag, cursor_thread, seq = decode_cursor(cursor, str, int, int)
    if tag != "m" or cursor_thread != thread.id or not isinstance(seq, int):
        raise BadUserInput("expected a message cursor from this thread")
    if not 0 <= seq <= thread.last_seq:
        raise BadUserInput("expected the cursor of a message in this thread")
    return seq


async def _stored_after(thread_id: int, seq: int) -> AsyncIterator[models.Message]:
    while True:
        batch = (
            await models.Message.filter(thread_id=thread_id, seq__gt=seq)
            .order_by("seq")
            .limit(REPLAY_BATCH)
        )
        for row in batch:
            seq = row.seq
            yield row
        if len(batch) < REPLAY_BATCH:
            return


async def message_added(
    ctx: Context, thread_id: str, after: str | None
) -> AsyncIterator[Message]:
    thread = await load_thread(ctx, thread_id)
    delivered = _after_seq(after, thread) if after is not None else None
    return _messages(ctx, thread.id, delivered)


async def _messages(
    ctx: Context, thread_id: int, delivered: int | None
) -> AsyncIterator[Message]:
    async with listen(thread_channel(thread_id)) as events:
        # Subscribed before reading, so a message committed in between is seen
        # either in the replay or live, and the sequence drops the duplicate.
        if delivered is None:
            fresh = await models.MessageThread.get(id=thread_id)
            delivered = fresh.last_seq
        async for row in _stored_after(thread_id, delivered):
            delivered = row.seq
            yield Message.from_row(row)

        async for event in events:
            if event.get("kind") != RESYNC and event.get("seq", 0) <= delivered:
                continue
            ctx.fresh_loaders()
            stored = StoredMessage.from_event(event)
            if stored is not None and stored.seq == delivered + 1:
                delivered = stored.seq
                yield Message.from_row(stored)
                continue
            # Anything else is read from the database: a gap (an event lost,
            # or overtaken by a later one), or a resync after a broker outage
            # that brings everything that was missed.
            async for row in _stored_after(thread_id, delivered):
                delivered = row.seq
                yield Message.from_row(row)


async def inbox_updated(ctx: Context) -> AsyncIterator[MessageThread]:
    viewer = ctx.require_viewer()
    return _inbox(ctx, viewer.id)


async def _inbox(ctx: Context, user_id: int) -> AsyncIterator[MessageThread]:
    async with listen(user_channel(user_id)) as events:
        async for event in events:
            if event.get("kind") != "inbox":
                continue
            thread = await models.MessageThread.filter(id=event["thread_id"]).first()
            ctx.fresh_loaders()
            if thread and await is_thread_participant(ctx, thread):
                yield MessageThread.from_row(thread)


async def schedule_changed(ctx: Context) -> AsyncIterator[AppointmentEvent]:
    viewer = ctx.require_viewer()
    return _schedule(ctx, viewer.id)


async def _schedule(ctx: Context, user_id: int) -> AsyncIterator[AppointmentEvent]:
    async with listen(user_channel(user_id)) as events:
        async for event in events:
            if event.get("kind") != "schedule":
                continue
            row = await models.Appointment.filter(id=event["appointment_id"]).first()
            ctx.fresh_loaders()
            if row is None or not await can_see_appointment(ctx, row):
                continue
            yield AppointmentEvent(
                type=AppointmentEventType(event["type"]),
                appointment=Appointment.from_row(row),
                at=datetime.fromisoformat(event["at"].replace("Z", "+00:00")),
            )


async def availability_changed(
    ctx: Context, provider_id: str
) -> AsyncIterator[Provider]:
    provider = await require_provider(provider_id)
    return _availability(ctx, provider.id)


async def _availability(ctx: Context, provider_id: int) -> AsyncIterator[Provider]:
    async with listen(provider_availability_channel(provider_id)) as events:
        async for event in events:
            # A resync may hide a change made during a broker outage.
            if event.get("kind") not in ("availability", RESYNC):
                continue
            ctx.fresh_loaders()
            row = await models.Provider.filter(id=provider_id).first()
            if row is not None:
                yield Provider.from_row(row)
